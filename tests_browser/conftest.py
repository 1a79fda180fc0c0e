"""The browser suite: the page of `gankit serve` in a real headless Chromium, driven by
Playwright (the system browser: Debian's `chromium`; Playwright downloads nothing).

Run it after the main suite: `python -m pytest -q tests_browser` (see the README's Development
section). It fails, never skips, when it cannot find the browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from tests.ui.conftest import _train, serving

# flags for a sandboxed machine without a display or network (Chromium otherwise keeps trying
# to reach Google's services)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str:
    """The system Chromium: $GANKIT_CHROMIUM, else chromium or chromium-browser on PATH."""
    for candidate in (os.environ.get("GANKIT_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    pytest.fail(
        "no Chromium found for the browser tests: install it (Debian: apt-get install chromium) "
        "or set GANKIT_CHROMIUM to its path",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser-runs")
    for name in ("dcgan", "cgan"):
        _train(name, root / name)
    return root


@pytest.fixture(scope="session")
def server(runs_root: Path) -> Iterator[str]:
    with serving(runs_root) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextmanager
def _open_page(
    browser: object, height: int, prepare: Callable[[Any], None] | None = None
) -> Iterator[Any]:
    """A fresh page 1280 px wide; fails the test when a script on it raised. `prepare` gets the
    context before the page opens (to route requests, say)."""
    context = browser.new_context(viewport={"width": 1280, "height": height})  # type: ignore[attr-defined]
    if prepare is not None:
        prepare(context)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    yield pg
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture(scope="session")
def open_page(browser: object) -> Callable[..., Any]:
    """`with open_page(height, prepare=None) as page:` (see `_open_page`)."""
    return partial(_open_page, browser)


@pytest.fixture
def page(open_page: Callable[..., Any]) -> Iterator[object]:
    with open_page(1000) as pg:
        yield pg

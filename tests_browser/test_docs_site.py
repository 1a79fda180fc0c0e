"""The documentation site in headless Chromium: math rendered, code with its source line numbers,
pictures loaded, and the language switch leading to the Korean page."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scripts.docs_screenshots import build_site, offline_katex, serve


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        site = build_site(Path(tmp) / "site")
        with serve(site) as url:
            yield url


def _katex(context: object) -> None:
    assert offline_katex(context), "KaTeX for the offline browser: apt-get install libjs-katex"


@pytest.fixture
def docs_page(open_page: Callable[..., Any]) -> Iterator[object]:
    with open_page(900, _katex) as pg:
        yield pg


def test_a_model_page_renders_its_math_code_and_pictures(docs_page, site_url: str) -> None:
    docs_page.goto(site_url + "models/dcgan/", wait_until="networkidle")
    assert docs_page.locator(".katex").count() > 3  # \( \) and \[ \] typeset, none left raw
    assert "\\mathcal" not in docs_page.locator("article").inner_text()
    code = docs_page.locator("div.highlight").first
    assert "src/gankit/losses.py" in code.inner_text()
    for img in docs_page.locator("article img").all():
        assert img.evaluate("i => i.complete && i.naturalWidth > 0"), img.get_attribute("src")


def test_the_language_switch_opens_the_korean_page(docs_page, site_url: str) -> None:
    docs_page.goto(site_url + "models/dcgan/", wait_until="networkidle")
    docs_page.locator(".md-header__option .md-select").first.hover()
    docs_page.get_by_role("link", name="한국어").click()
    docs_page.wait_for_url("**/ko/models/dcgan/")
    assert "판별자" in docs_page.locator("article").inner_text()

"""Screenshots of the documentation site in headless Chromium (Debian's `chromium`, through
Playwright): the home page and two model pages, in English and Korean.

    python scripts/docs_screenshots.py [--site DIR] [--out DIR]

Builds the site (`mkdocs build --strict`) unless --site names a built one, serves it on a free
local port, and saves full-width screenshots into --out (default benchmarks/results/docs-site/).
The site loads KaTeX from a CDN in a reader's browser; this machine has no internet, so requests
for it are answered from Debian's `libjs-katex` (the same version, 0.16.4) when that is installed,
and the math is left as TeX source otherwise (said on stdout). The Korean pages need a font with
Hangul on the machine (Debian: `fonts-nanum` or `fonts-noto-cjk`); without one Chromium draws
boxes, which the script also says.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KATEX_CDN = "https://cdn.jsdelivr.net/npm/katex@0.16.4/dist/"
KATEX_LOCAL = Path("/usr/share/javascript/katex")
PAGES = {
    "home": "",
    "dcgan": "models/dcgan/",
    "stylegan": "models/stylegan/",
    "ko-home": "ko/",
    "ko-wgan-gp": "ko/models/wgan-gp/",
}


def build_site(out: Path) -> Path:
    """`mkdocs build --strict` into `out`; a failed build raises with MkDocs' own output."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"mkdocs build --strict failed:\n{done.stdout}{done.stderr}")
    return out


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve the built site on 127.0.0.1 (a free port); yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def offline_katex(context: Any) -> bool:
    """Answer the site's KaTeX CDN requests from Debian's copy; False if there is none."""
    if not (KATEX_LOCAL / "katex.min.js").is_file():
        return False

    def answer(route: Any) -> None:
        rel = route.request.url.removeprefix(KATEX_CDN)
        path = KATEX_LOCAL / rel
        if not path.is_file():  # Debian ships contrib/auto-render.js without a .min twin
            path = KATEX_LOCAL / rel.replace(".min.", ".")
        route.fulfill(path=str(path)) if path.is_file() else route.abort()

    context.route(KATEX_CDN + "**", answer)
    return True


def korean_font() -> bool:
    """Whether fontconfig knows a font that covers Korean (True when it cannot be asked)."""
    if shutil.which("fc-list") is None:
        return True
    found = subprocess.run(["fc-list", ":lang=ko"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, help="an already built site (default: build one)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/docs-site")
    parser.add_argument("--chromium", default=os.environ.get("GANKIT_CHROMIUM", "chromium"))
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    chromium = shutil.which(args.chromium)
    if chromium is None:
        sys.exit(f"no Chromium ({args.chromium}): apt-get install chromium")
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests_browser.conftest import CHROMIUM_ARGS

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site = args.site or build_site(Path(tmp) / "site")
        with serve(site) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": args.width, "height": 900})
            if not offline_katex(context):
                print(f"no {KATEX_LOCAL}: the math stays TeX source (apt-get install libjs-katex)")
            if not korean_font():
                print("no font with Hangul: Korean shows as boxes (apt-get install fonts-nanum)")
            page = context.new_page()
            for name, path in PAGES.items():
                page.goto(url + path, wait_until="networkidle")
                page.wait_for_timeout(300)  # KaTeX renders after load
                shot = args.out / f"{name}.png"
                page.screenshot(path=str(shot))
                print(f"{shot}: {url + path}")
            browser.close()


if __name__ == "__main__":
    main()

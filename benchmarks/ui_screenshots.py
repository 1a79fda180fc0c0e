"""Screenshots of every kind of page of `gankit serve`, and how long a person waits for it.

    python benchmarks/ui_screenshots.py            # trains the runs it lacks, then measures

Trains one run per page type into benchmarks/runs/ui/ (the commands are below; a run already
there is reused), starts `gankit serve` on that folder as a user would (a subprocess), and drives
the page in headless Chromium (Debian's `chromium`, through Playwright):

- the time from starting `gankit serve` to the first generated image on a run's page (the
  process starting, Gradio, the page, loading the checkpoint and drawing);
- the time from a click on Generate (with a new seed) to the new image, median of 7;
- one screenshot per page type, into benchmarks/results/ui/.

Results: benchmarks/results/ui.md (with this command and the machine's load).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.ui.conftest import free_port  # noqa: E402
from tests_browser.conftest import CHROMIUM_ARGS  # noqa: E402  (the browser suite's flags)

RUNS = ROOT / "benchmarks" / "runs" / "ui"
OUT = ROOT / "benchmarks" / "results" / "ui"
PAGE = ROOT / "benchmarks" / "results" / "ui.md"

# name -> gankit train arguments (each also gets --out RUNS/name --no-progress)
TRAIN = {
    "dcgan-digits": "dcgan --data digits",
    "gan-ring8": "gan --data ring8 --steps 3000",
    "cgan-digits": "cgan --data digits --steps 2000",
    "infogan-digits": "infogan --data digits --steps 1500",
    "cyclegan-digits2glyphs": "cyclegan --data digits2glyphs --steps 600",
    "srgan-photos-sr4": "srgan --data photos-sr4 --steps 300",
    "stylegan-digits": "stylegan --data digits --steps 600",
    "progan-digits": "progan --data digits --steps 1500",
    "stackgan-shapes": "stackgan --data shapes --steps 800",
    "stackgan2-shapes": "stackgan --data shapes --steps 200 --resolution 64 --set model.stage=2 "
    "--set model.stage1={runs}/stackgan-shapes",
}
WAIT_MS = 120_000


def train_missing(runs: Path) -> None:
    for name, args in TRAIN.items():
        if (runs / name / "checkpoints").is_dir():
            continue
        words = args.format(runs=runs).split()
        cmd = ["gankit", "train", *words, "--out", str(runs / name), "--no-progress"]
        print("training:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)


def wait_http(url: str, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def new_image(page, selector: str, old: str | None) -> str:  # type: ignore[no-untyped-def]
    """Wait until `selector`'s image differs from `old` and has loaded; return its src
    (scrolled into view first: the page's galleries load their images lazily)."""
    page.locator(selector).scroll_into_view_if_needed(timeout=WAIT_MS)
    page.wait_for_function(
        "([sel, old]) => { const i = document.querySelector(sel + ' img');"
        " return i && i.src !== old && i.complete && i.naturalWidth > 0; }",
        arg=[selector, old],
        timeout=WAIT_MS,
    )
    return str(page.locator(f"{selector} img").first.get_attribute("src"))


def open_run(page, url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/?run={name}")
    page.locator("#run-info").get_by_text(name.split("/")[-1]).first.wait_for(timeout=WAIT_MS)
    new_image(page, "#step-image", None)


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    OUT.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)  # plots finish drawing
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    from PIL import Image

    with Image.open(path) as shot:  # 256 colours: a third of the bytes, the same page to read
        small = shot.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    print("screenshot:", OUT / f"{name}.png", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=RUNS)
    parser.add_argument("--chromium", default=os.environ.get("GANKIT_CHROMIUM", "chromium"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.runs.mkdir(parents=True, exist_ok=True)
    train_missing(args.runs)
    chromium = shutil.which(args.chromium)
    if chromium is None:
        sys.exit(f"no Chromium ({args.chromium}): apt-get install chromium")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        start = time.perf_counter()
        server = subprocess.Popen(
            ["gankit", "serve", str(args.runs), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_http(url)
            page.goto(f"{url}/?run=dcgan-digits")
            page.locator("#generate").click()
            src = new_image(page, "#generated", None)
            first_image = time.perf_counter() - start
            clicks = []
            for seed in range(1, 8):
                box = page.locator("#seed input")
                box.fill(str(seed))
                box.press("Enter")
                t = time.perf_counter()
                page.locator("#generate").click()
                src = new_image(page, "#generated", src)
                clicks.append(time.perf_counter() - t)
            shots(page, url, args.runs)
        finally:
            server.terminate()
            server.wait(30)
            browser.close()
    write_page(first_image, clicks)


# page type -> (run, the buttons to click and the output each fills, an upload for #source)
PAGES: dict[str, tuple[str, list[tuple[str, str]], str | None]] = {
    "dcgan": ("dcgan-digits", [("#generate", "#generated"), ("#walk", "#walk-strip")], None),
    "gan-ring8": ("gan-ring8", [("#generate", "#generated")], None),
    "cgan": ("cgan-digits", [("#generate", "#generated")], None),
    "stylegan": ("stylegan-digits", [("#mix", "#mixed")], None),
    "infogan": ("infogan-digits", [("#codes", "#coded")], None),
    "cyclegan": ("cyclegan-digits2glyphs", [("#translate", "#translated")], "digit"),
    "srgan": ("srgan-photos-sr4", [("#translate", "#translated")], "photo"),
    "stackgan": ("stackgan2-shapes", [("#text", "#texted")], None),
    "progan": ("progan-digits", [("", "#grown")], None),  # filled when the run opens
}


def shots(page, url: str, runs: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.locator("#runs-gallery img").first.wait_for(timeout=WAIT_MS)
    shoot(page, "runs")
    uploads = {"digit": _digit_image(runs / "input-digit.png")}
    uploads["photo"] = _photo_crop(runs / "input-photo.png")
    for name, (run, clicks, upload) in PAGES.items():
        open_run(page, url, run)
        if upload:
            page.locator("#source input[type=file]").set_input_files(str(uploads[upload]))
            page.wait_for_timeout(1000)
        for button, output in clicks:
            if button:
                page.locator(button).click()
            new_image(page, output, None)
        shoot(page, name)


def _digit_image(path: Path) -> Path:
    """A held-out handwritten digit (scikit-learn's last image), 8×8 enlarged to 32×32."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digit = load_digits().images[-1] / 16.0 * 255
    Image.fromarray(digit.astype(np.uint8)).resize((32, 32), Image.BICUBIC).save(path)
    return path


def _photo_crop(path: Path) -> Path:
    """A 32×32 crop of scikit-image's astronaut photograph (the SRGAN input)."""
    from PIL import Image
    from skimage import data

    Image.fromarray(data.astronaut()[60:124, 180:244]).resize((32, 32), Image.BICUBIC).save(path)
    return path


def write_page(first_image: float, clicks: list[float]) -> None:
    load = os.getloadavg()[0]
    lines = [
        "# `gankit serve`: time to a first image, time per click, and every page type",
        "",
        "Command: `python benchmarks/ui_screenshots.py` (trains the runs it lacks into "
        "`benchmarks/runs/ui/`, starts `gankit serve` on them as a subprocess, and drives the "
        "page in headless Chromium through Playwright).",
        "",
        f"Machine: {os.cpu_count()} CPU cores, 1-minute load average {load:.2f} at the end "
        "of the run.",
        "",
        "| what | seconds |",
        "| --- | ---: |",
        f"| `gankit serve` started → first generated image on a run's page | {first_image:.2f} |",
        f"| click on Generate (new seed, 16 samples, DCGAN 32²) → new image, median of "
        f"{len(clicks)} | {statistics.median(clicks):.3f} |",
        f"| the same, slowest of {len(clicks)} | {max(clicks):.3f} |",
        "",
        "The first figure includes Python starting, importing torch and Gradio, the server "
        "starting, the browser loading the page, the run's checkpoint being loaded and the "
        "first draw.",
        "",
        "## Page types",
        "",
    ]
    captions = {
        "runs": "The runs table (sortable) with each run's newest fixed-latent grid.",
        "dcgan": "A run's page: curves, the step slider, eval results, sampling and a walk.",
        "gan-ring8": "A 2-D run: samples drawn as a scatter over the true modes.",
        "cgan": "A class-conditional run: the class picker.",
        "stylegan": "StyleGAN: ψ, and the style-mixing grid.",
        "infogan": "InfoGAN: one slider per latent code.",
        "cyclegan": "CycleGAN: an uploaded handwritten digit translated to a font glyph.",
        "srgan": "SRGAN: an upload, bicubic ×4 and SRGAN ×4 side by side.",
        "stackgan": "StackGAN: a caption drawn by both stages.",
        "progan": "ProGAN: the grow schedule and the grid at each resolution reached.",
    }
    for name, caption in captions.items():
        lines += [f"### {name}", "", caption, "", f"![{name}](ui/{name}.png)", ""]
    PAGE.write_text("\n".join(lines))
    print(PAGE.read_text())


if __name__ == "__main__":
    main()

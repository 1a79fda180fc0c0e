"""A person's use of the page, in a real browser: the runs table, opening a run, clicking
Generate and seeing a new image, the step slider, and a training run refreshing on its own."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from gankit.training.rundir import RunLock

TIMEOUT_MS = 60_000  # the first request loads a model


def image_src(page: Page, selector: str) -> str:
    img = page.locator(f"{selector} img").first
    expect(img).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle(), timeout=TIMEOUT_MS
    )
    return str(img.get_attribute("src"))


def test_the_runs_table_lists_runs_and_opens_one(page: Page, server: str) -> None:
    page.goto(server)
    table = page.locator("#runs-table")
    expect(table).to_contain_text("dcgan", timeout=TIMEOUT_MS)
    expect(table).to_contain_text("cgan")
    expect(page.locator("#runs-gallery img").first).to_be_visible(timeout=TIMEOUT_MS)
    table.get_by_text("cgan", exact=True).first.click()
    expect(page.locator("#run-info")).to_contain_text("cgan on digits", timeout=TIMEOUT_MS)


def test_generate_shows_a_new_image_for_a_new_seed(page: Page, server: str) -> None:
    page.goto(f"{server}/?run=dcgan")
    expect(page.locator("#run-info")).to_contain_text("dcgan on digits", timeout=TIMEOUT_MS)
    page.locator("#generate").click()
    first = image_src(page, "#generated")
    seed = page.locator("#seed input")
    seed.fill("7")
    seed.press("Enter")
    page.locator("#generate").click()
    page.wait_for_function(
        "(old) => { const i = document.querySelector('#generated img');"
        " return i && i.src !== old && i.complete && i.naturalWidth > 0; }",
        arg=first,
        timeout=TIMEOUT_MS,
    )
    assert image_src(page, "#generated") != first


def test_the_step_slider_and_the_curves_show_the_training(page: Page, server: str) -> None:
    page.goto(f"{server}/?run=dcgan")
    expect(page.locator("#run-info")).to_contain_text("step 4 of 4", timeout=TIMEOUT_MS)
    image_src(page, "#step-image")
    expect(page.get_by_text("the fixed-latent grid saved at step 4")).to_be_visible()
    slider = page.locator("#step-slider input[type=number]")
    slider.fill("0")
    slider.press("Enter")
    expect(page.get_by_text("the fixed-latent grid saved at step 0")).to_be_visible(
        timeout=TIMEOUT_MS
    )


def test_a_run_still_training_refreshes_on_its_own(
    page: Page, server: str, runs_root: Path
) -> None:
    run = runs_root / "live"
    shutil.copytree(runs_root / "dcgan", run)
    lock = RunLock(run)  # as a training process holds it
    try:
        page.goto(f"{server}/?run=live")
        info = page.locator("#run-info")
        expect(info).to_contain_text("training", timeout=TIMEOUT_MS)
        expect(info).to_contain_text("step 4 of 4")
        # the trainer writes a new grid and a metrics line
        shutil.copy(run / "samples" / "step-000000.png", run / "samples" / "step-000006.png")
        with open(run / "metrics.jsonl", "a") as f:
            f.write(json.dumps({"step": 6, "D/loss": 0.5, "G/loss": 2.0, "time": 9.0}) + "\n")
        start = time.monotonic()
        expect(info).to_contain_text("step 6 of 4", timeout=TIMEOUT_MS)
        expect(page.get_by_text("the fixed-latent grid saved at step 6")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        assert time.monotonic() - start < 30
        expect(page.locator("#runs-table")).to_contain_text("training")
    finally:
        lock.release()
        shutil.rmtree(run)

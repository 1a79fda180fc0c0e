"""The page's actions without a server: finding runs, refusing paths out of the folder, reading
runs as they train, and every model section's drawing through the Generator handle."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import gankit
from gankit.cli import main
from gankit.errors import GankitError
from gankit.runs import (
    find_runs,
    is_training,
    read_jsonl,
    record_eval,
    resolve_run,
    summarize,
)
from gankit.training.rundir import RunLock
from gankit.ui.explore import Explorer, check_upload, parse_seeds
from tests.ui.conftest import RUNS, huge_png, write_image


@pytest.fixture(scope="module")
def ex(runs_root: Path) -> Explorer:
    explorer = Explorer(runs_root)
    yield explorer
    explorer.close()


def test_every_run_is_found_with_what_the_table_shows(runs_root: Path) -> None:
    found = {r.name: r for r in find_runs(runs_root)}
    assert set(found) == {*RUNS, "stackgan-2", "sweep/seed-1"}
    dcgan = found["dcgan"]
    assert (dcgan.model, dcgan.data, dcgan.step, dcgan.steps) == ("dcgan", "digits", 4, 4)
    assert dcgan.status == "finished" and not dcgan.training
    assert dcgan.newest_sample is not None and dcgan.newest_sample.name == "step-000004.png"
    assert dcgan.wall_s is not None and dcgan.wall_s > 0
    assert "D/loss" in dcgan.last and "G/loss" in dcgan.last
    assert found["progan"].step == 6


@pytest.mark.parametrize(
    "name", ["..", "../x", "dcgan/../../x", "/etc", "sweep/../..", "a\\b", "", "nope"]
)
def test_names_that_leave_the_folder_or_name_no_run_are_refused(runs_root: Path, name: str) -> None:
    with pytest.raises(GankitError):
        resolve_run(runs_root, name)


def test_a_symlink_out_of_the_folder_is_refused_and_not_listed(
    runs_root: Path, tmp_path: Path
) -> None:
    import shutil

    outside = tmp_path / "outside-run"
    shutil.copytree(runs_root / "dcgan", outside)
    link = runs_root / "escape"
    link.symlink_to(outside, target_is_directory=True)
    inside = runs_root / "alias"
    inside.symlink_to(runs_root / "dcgan", target_is_directory=True)
    try:
        with pytest.raises(GankitError, match="outside the runs folder"):
            resolve_run(runs_root, "escape")
        names = {r.name for r in find_runs(runs_root)}
        assert "escape" not in names
        assert resolve_run(runs_root, "alias") == (runs_root / "dcgan").resolve()
    finally:
        link.unlink()
        inside.unlink()


def test_a_run_being_trained_is_seen_as_training(runs_root: Path) -> None:
    run = runs_root / "cgan"
    assert not is_training(run)
    lock = RunLock(run)  # what a training process holds
    try:
        assert is_training(run)
        assert summarize(run).status == "training"
    finally:
        lock.release()
    assert not is_training(run) and summarize(run).status == "finished"
    # a killed trainer leaves its pid behind: gone, so not training
    (run / ".lock").write_text(json.dumps({"pid": 2**22 + 12345, "host": os.uname()[1]}))
    assert not is_training(run)
    (run / ".lock").write_text("")


def test_a_line_still_being_written_is_skipped(tmp_path: Path) -> None:
    log = tmp_path / "metrics.jsonl"
    log.write_text('{"step": 1, "D/loss": 0.5}\nnot json\n{"step": 2, "D/lo')
    assert read_jsonl(log) == [{"step": 1, "D/loss": 0.5}]


def test_curves_group_losses_and_d_outputs(ex: Explorer) -> None:
    groups = ex.curves("dcgan")
    losses = {r["series"] for r in groups["losses"]}
    outputs = {r["series"] for r in groups["outputs"]}
    assert {"D/loss", "G/loss"} <= losses
    assert {"D/p_real", "D/p_fake"} <= outputs
    assert [r["step"] for r in groups["losses"] if r["series"] == "D/loss"] == [1, 2, 3, 4]
    progan = ex.curves("progan")
    assert {r["series"] for r in progan["other"]} >= {"D/alpha"}  # the fade-in, not a loss


def test_the_step_slider_shows_the_nearest_saved_grid(ex: Explorer) -> None:
    assert [s for s, _ in ex.saved_samples("dcgan")] == [0, 2, 4]
    first, step = ex.sample_at("dcgan", 0.6)
    assert step == 0 and first is not None and first.ndim == 3
    newest, step = ex.sample_at("dcgan", None)
    assert step == 4 and not np.array_equal(first, newest)


def test_eval_results_are_kept_by_gankit_eval_and_shown(
    runs_root: Path, ex: Explorer, capsys: pytest.CaptureFixture[str]
) -> None:
    run = runs_root / "gan-ring8"
    assert main(["eval", str(run), "--metrics", "modes", "-n", "500", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    records = read_jsonl(run / "eval.jsonl")
    assert records[-1]["results"] == printed and records[-1]["checkpoint"] == "step-000004.json"
    headers, rows = ex.evals("gan-ring8")
    assert "modes" in headers and rows[0][headers.index("step")] == 4
    record_eval(run, {"results": {"step": 4, "n": 9, "modes": 3.0}})
    assert ex.evals("gan-ring8")[1][0][headers.index("n")] == 9  # newest first


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dcgan", {"samples": True, "walk": True, "project": True, "classes": 0}),
        ("cgan", {"classes": 10, "project": True}),
        ("gan-ring8", {"kind": "points", "walk": False, "project": False}),
        ("stylegan", {"truncation": "w", "project": True}),
        ("cyclegan", {"samples": False, "directions": ["AtoB", "BtoA"], "walk": False}),
        ("srgan", {"directions": ["AtoB"], "super_resolution": 4}),
        ("stackgan", {"text": True, "stages": 0, "project": False}),
        ("stackgan-2", {"text": True, "stages": 2}),
        ("progan", {"growth": True}),
        ("cogan", {"kind": "unpaired", "walk": True, "project": False}),
        ("pix2pix", {"directions": ["AtoB"], "samples": False}),
        ("discogan", {"directions": ["AtoB", "BtoA"], "super_resolution": 0}),
    ],
)
def test_each_model_gets_the_sections_that_fit_it(ex: Explorer, name: str, expected: dict) -> None:
    f = ex.features(name)
    for key, value in expected.items():
        assert getattr(f, key) == value, key
    assert (f.styles > 0) == (name == "stylegan")
    assert bool(f.codes) == (name == "infogan")


def test_generate_draws_what_the_handle_draws(ex: Explorer, runs_root: Path) -> None:
    from gankit.ui.explore import to_picture

    a = ex.generate("dcgan", seed=3, n=4)
    assert np.array_equal(a, ex.generate("dcgan", seed=3, n=4))
    assert not np.array_equal(a, ex.generate("dcgan", seed=4, n=4))
    assert np.array_equal(a, to_picture(gankit.load(runs_root / "dcgan").sample(4, seed=3)))
    threes = ex.generate("cgan", seed=0, n=4, label=3)
    assert threes.shape[2] == 3
    with pytest.raises(GankitError, match=r"0\.\.9"):
        ex.generate("cgan", seed=0, n=4, label=12)
    with pytest.raises(GankitError, match=r"1\.\.64"):
        ex.generate("dcgan", n=1000)
    with pytest.raises(GankitError, match="seed"):
        ex.generate("dcgan", seed=-1)
    scatter = ex.generate("gan-ring8", n=500)  # points: a scatter plot
    assert scatter.shape == (500, 500, 3)


def test_every_section_draws(ex: Explorer, tmp_path: Path) -> None:
    strip, gif = ex.walk("dcgan", seeds="0, 5", steps=4, spherical=True)
    assert strip.ndim == 3 and Path(gif).read_bytes()[:3] == b"GIF"
    strip, _ = ex.walk("stackgan", seeds="0", steps=3, captions="a red circle\na blue square")
    assert strip.ndim == 3
    uploads = [str(write_image(tmp_path / f"{i}.png", (20, 28))) for i in range(2)]
    strip, _ = ex.walk("dcgan", uploads=uploads, steps=3, project_steps=5)
    assert strip.ndim == 3
    assert ex.mix("stylegan", rows="0, 1", cols="2, 3, 4", crossover=1).ndim == 3
    codes = ex.features("infogan").codes
    assert ex.codes("infogan", seed=0, n=4, values=[c["maximum"] for c in codes]).ndim == 3
    shown = ex.translate("cyclegan", uploads[0], "BtoA")
    assert [c for _, c in shown] == ["input", "cyclegan BtoA"]
    big = str(write_image(tmp_path / "sr.png", (12, 8), "RGB"))
    shown = ex.translate("srgan", big)
    assert [c for _, c in shown] == ["input", "bicubic ×4", "SRGAN ×4"]
    assert shown[2][0].shape[:2] == shown[1][0].shape[:2]
    stages = ex.text("stackgan-2", "a green triangle", n=2, seed=1)
    assert [c for _, c in stages] == ["Stage-I", "Stage-II"]
    strip, gif = ex.walk("cogan", seeds="1, 2", steps=3)  # pairs: side by side
    assert strip.ndim == 3 and Path(gif).read_bytes()[:3] == b"GIF"
    assert ex.generate("cogan", n=2).ndim == 3
    colour = str(write_image(tmp_path / "c.png", (16, 16), "RGB"))
    for name, direction in (("pix2pix", "AtoB"), ("discogan", "BtoA")):
        shown = ex.translate(name, colour if name == "pix2pix" else uploads[0], direction)
        assert [c for _, c in shown] == ["input", f"{name} {direction}"]
    rows, grids = ex.growth("progan")
    assert [r[0] for r in rows][:2] == ["4×4", "8×8"] and rows[0][-1] == "yes"
    assert [c.split(" ")[0] for _, c in grids] == ["4×4", "8×8"]


def test_sample_stages_ends_with_what_sample_draws(runs_root: Path) -> None:
    h = gankit.load(runs_root / "stackgan-2")
    coarse, fine = h.sample_stages(3, seed=5, text="a red circle")
    assert coarse.shape[-1] * 4 == fine.shape[-1]
    torch.testing.assert_close(fine, h.sample(3, seed=5, text="a red circle"), rtol=0, atol=0)
    with pytest.raises(GankitError, match="one stage"):
        gankit.load(runs_root / "dcgan").sample_stages(2, text="x")


def test_uploads_are_checked_from_their_header(tmp_path: Path) -> None:
    huge = huge_png(tmp_path / "huge.png")
    start = time.perf_counter()
    with pytest.raises(GankitError, match=r"huge\.png cannot be used: 400,000,000 pixels"):
        check_upload(huge)
    assert time.perf_counter() - start < 1.0  # refused from the header, never decoded
    big = write_image(tmp_path / "big.png", (2100, 2100))
    with pytest.raises(GankitError, match="at most 2048×2048"):
        check_upload(big)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(GankitError):
        check_upload(bad)


def test_seed_lists_are_checked() -> None:
    assert parse_seeds("0, 5 9") == [0, 5, 9]
    for text in ("a, b", "-1", "1", ",".join(str(i) for i in range(40))):
        with pytest.raises(GankitError):
            parse_seeds(text, at_least=2)


def test_a_new_checkpoint_is_loaded_when_the_run_writes_one(
    ex: Explorer, runs_root: Path, tmp_path: Path
) -> None:
    import shutil

    run = runs_root / "sweep" / "copy"
    shutil.copytree(runs_root / "dcgan", run)
    try:
        first = ex.handle("sweep/copy")
        assert first is ex.handle("sweep/copy") and first.step == 4
        gankit.train(resume=run, steps=6, train_options={"progress": False})
        assert ex.handle("sweep/copy").step == 6
    finally:
        shutil.rmtree(run)


def test_without_the_ui_extra_serve_says_how_to_get_it(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess
    import sys

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio raises ImportError
    assert main(["serve", str(runs_root)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "gankit: error: gankit serve needs the web UI extra, which is not installed: "
        "pip install 'gankit[ui]' (Gradio)"
    )
    # the core never imports Gradio: not gankit, not its CLI, not the page's actions
    code = "import sys, gankit, gankit.cli, gankit.ui; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

"""The `gankit` command: listing, the train → sample → eval round, and user errors (exit 2, one
message, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gankit
from gankit.cli import main
from gankit.data import DATASETS
from gankit.models import MODELS

TINY_GAN = [
    "--set", "model.g_hidden=[16]", "--set", "model.d_hidden=[16]", "--set", "data.size=512",
    "--set", "train.sample_every=0", "--no-progress",
]  # fmt: skip


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("cli") / "gan-run"
    args = ["train", "gan", "--data", "ring8", "--steps", "3", "--batch-size", "32"]
    assert main([*args, "--out", str(run), *TINY_GAN]) == 0
    return run


def test_list_names_every_model_and_dataset(capsys) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    for name in MODELS.names():
        assert sum(line.split()[0] == name for line in out) == 1
    for name in DATASETS.names():
        # `folder:PATH`, `mnist[:PATH]`
        assert sum(line.split()[0].split(":")[0].removesuffix("[") == name for line in out) == 1


def test_train_writes_a_complete_run(gan_run: Path) -> None:
    assert (gan_run / "config.yaml").is_file()
    assert (gan_run / "metrics.jsonl").is_file()
    assert (gan_run / "checkpoints/step-000003.safetensors").is_file()
    assert (gan_run / "samples/step-000003.png").is_file()


def test_sample_png_and_npy(gan_run: Path, tmp_path: Path) -> None:
    assert (
        main(["sample", str(gan_run), "-n", "50", "--seed", "3", "-o", str(tmp_path / "a.npy")])
        == 0
    )
    assert (
        main(["sample", str(gan_run), "-n", "50", "--seed", "3", "-o", str(tmp_path / "b.npy")])
        == 0
    )
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == (50, 2)
    np.testing.assert_array_equal(a, b)  # same seed, same samples
    assert main(["sample", str(gan_run), "-o", str(tmp_path / "s.png")]) == 0
    assert Image.open(tmp_path / "s.png").size[0] > 100


def test_sample_image_grid(tmp_path: Path) -> None:
    run = tmp_path / "dc"
    args = ["train", "dcgan", "--data", "digits", "--steps", "1", "--resolution", "16"]
    sets = ["--set", "model.g_channels=4", "--set", "model.d_channels=4", "--no-progress"]
    assert main([*args, "--batch-size", "8", "--out", str(run), *sets]) == 0
    assert main(["sample", str(run), "-n", "16", "-o", str(tmp_path / "grid.png")]) == 0
    img = Image.open(tmp_path / "grid.png")
    assert img.mode == "L" and img.size == (4 * 64 + 5 * 2, 4 * 64 + 5 * 2)  # 4×4 cells of 64 px


def test_eval_json(gan_run: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["eval", str(gan_run), "--metrics", "modes,fid", "--json", "-n", "500"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "gan" and result["n"] == 500
    assert {"modes", "high_quality", "kl", "fid", "fid_real"} <= set(result)
    assert 0 <= result["modes"] <= 8


def _error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_:  # argparse's own errors
        main(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "dcgn", "--data", "digits"], "unknown model 'dcgn'; did you mean 'dcgan'?"),
        (["train", "dcgan", "--data", "digitz"], "unknown dataset 'digitz'; did you mean"),
        (["train", "dcgan", "--data", "folder:/no/such/dir"], "no such image folder"),
        (["train", "gan", "--data", "points:/no/such.csv"], "no such points file"),
        (["train", "dcgan", "--data", "ring8"], "model 'dcgan' needs image data"),
        (["train", "dcgan", "--data", "digits", "--resolution", "24"], "power of two"),
        (["train", "gan", "--data", "ring8", "--set", "model.bogus=1"], "unknown config key"),
        (["train", "gan", "--data", "ring8", "--set", "model.z_dim=abc"], "must be an integer"),
        (["train", "gan", "--data", "ring8", "--set", "nonsense"], "expected key=value"),
        (["train", "gan", "--data", "ring8", "--precision", "fp16"], "fp16 training needs"),
        (["train", "gan"], "train needs MODEL and --data"),
        (["sample", "/no/such/run", "-o", "x.png"], "no such run or checkpoint"),
        (["eval", "/no/such/run"], "no such run or checkpoint"),
    ],
)
def test_user_errors_exit_2_with_one_message(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert err.count("gankit: error:") == 1


def test_bad_files_are_clear_errors(gan_run: Path, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    fake = tmp_path / "fake.json"
    fake.write_text('{"hello": 1}')
    out = tmp_path / "out.png"
    cases = [
        (["sample", str(empty), "-o", str(out)], "holds no checkpoints"),
        (["sample", str(fake), "-o", str(out)], "is not a gankit checkpoint"),
        (["sample", str(gan_run), "-o", str(tmp_path / "x.gif")], "unsupported output type"),
        (["sample", str(gan_run), "-o", "/no/dir/x.png"], "no such directory"),
        (["eval", str(gan_run), "--metrics", "is"], "point data has no class probabilities"),
        (["eval", str(gan_run), "--metrics", "fidd"], "unknown metric 'fidd'"),
        (["train", "--resume", str(gan_run), "--set", "model.z_dim=3"], "cannot change"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "gan", "--data", "ring8", "--steps", "-3"],
        ["train", "--steps", "x"],
        ["sample"],
        ["frobnicate"],
    ],
)
def test_bad_flags_exit_2(capsys, argv: list[str]) -> None:
    err = _error(capsys, argv)
    assert "usage: gankit" in err and "Traceback" not in err


def test_corrupt_weights_are_detected(gan_run: Path, tmp_path: Path, capsys) -> None:
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(gan_run, run)
    weights = run / "checkpoints/step-000003.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    # the checkpoint by name: refused, naming the intact older one
    assert main(["sample", str(weights), "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "corrupt (checksum mismatch)" in err
    assert "an older checkpoint is intact: step 0" in err and "Traceback" not in err
    # the run: its newest intact checkpoint, with a warning naming the damaged one
    assert main(["sample", str(run), "-n", "4", "-o", str(tmp_path / "x.png")]) == 0
    err = capsys.readouterr().err
    assert "passed over 1 damaged checkpoint(s)" in err and "step-000003" in err
    assert "using step 0, the newest intact one" in err
    # and a truncated newest checkpoint is passed over the same way when resuming
    weights.write_bytes(weights.read_bytes()[:100])
    assert main(["train", "--resume", str(run), "--steps", "4", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "using step 0" in err and "moved 1 newer checkpoint(s)" in err
    assert gankit.load(run).step == 4


def test_python_dash_m_entry_point(gan_run: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gankit", "sample", str(gan_run / "nope"), "-o", "x.png"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("gankit: error:") and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- classes, codes, latent tools
TINY_CONV = ["--resolution", "16", "--batch-size", "8", "--no-progress"]


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("cli") / "cgan-run"
    sets = ["--set", "model.g_hidden=[16]", "--set", "model.d_hidden=[16]"]
    args = ["train", "cgan", "--data", "digits", "--steps", "2", "--out", str(run)]
    assert main([*args, *sets, "--batch-size", "8", "--no-progress"]) == 0
    return run


@pytest.fixture(scope="module")
def infogan_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("cli") / "infogan-run"
    sets = ["--set", "model.channels=4", "--set", "model.g_fc=16", "--set", "model.q_hidden=8"]
    args = ["train", "infogan", "--data", "digits", "--steps", "2", "--out", str(run)]
    assert main([*args, *sets, *TINY_CONV]) == 0
    return run


def test_sample_one_class_and_a_row_per_class(cgan_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "three.npy"
    assert main(["sample", str(cgan_run), "--class", "3", "-n", "5", "-o", str(out)]) == 0
    assert np.load(out).shape == (5, 1, 8, 8)
    assert main(["sample", str(cgan_run), "-o", str(tmp_path / "grid.png")]) == 0
    cell = 64 + 2  # 8×8 digits enlarged to 64 px, 2 px apart
    assert Image.open(tmp_path / "grid.png").size == (8 * cell + 2, 10 * cell + 2)
    assert main(["sample", str(cgan_run), "-n", "3", "--per-class", "-o", str(out)]) == 0
    assert np.load(out).shape == (30, 1, 8, 8)


def test_sample_vary_code(infogan_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep.npy"
    assert main(["sample", str(infogan_run), "--vary-code", "c1", "-n", "3", "-o", str(out)]) == 0
    assert np.load(out).shape == (30, 1, 16, 16)  # 3 rows × 10 categories
    png = tmp_path / "sweep.png"
    assert main(["sample", str(infogan_run), "--vary-code", "c2", "-o", str(png)]) == 0
    assert Image.open(png).size == (10 * 66 + 2, 8 * 66 + 2)  # 8 rows × 10 values


def test_interpolate_png_gif_and_npy(infogan_run: Path, gan_run: Path, tmp_path: Path) -> None:
    base = ["interpolate", str(infogan_run), "--seeds", "1,2,3", "--steps", "4"]
    assert main([*base, "--slerp", "-o", str(tmp_path / "walk.npy")]) == 0
    assert np.load(tmp_path / "walk.npy").shape == (7, 1, 16, 16)
    assert main([*base, "-o", str(tmp_path / "walk.gif")]) == 0
    gif = Image.open(tmp_path / "walk.gif")
    total = 0
    for frame in range(gif.n_frames):  # (Pillow merges identical neighbours, adding durations)
        gif.seek(frame)
        total += gif.info["duration"]
    assert total == (7 + 5) * 120  # forward, then back without repeating the ends
    assert main([*base, "-o", str(tmp_path / "walk.png")]) == 0
    assert Image.open(tmp_path / "walk.png").size == (4 * 66 + 2, 2 * 66 + 2)
    points = ["interpolate", str(gan_run), "--seeds", "0,5", "-o", str(tmp_path / "p.png")]
    assert main(points) == 0  # points: a scatter of the path


def test_arithmetic_figure(infogan_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "sum.npy"
    args = ["arithmetic", str(infogan_run), "--a", "1,2,3", "--b", "4,5", "--c", "6"]
    assert main([*args, "--variations", "5", "-o", str(out)]) == 0
    assert np.load(out).shape == (4 * 6, 1, 16, 16)


def test_latent_tool_errors(gan_run: Path, cgan_run: Path, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "x.png")
    cases = [
        (["sample", str(gan_run), "--class", "1", "-o", out], "not class-conditional"),
        (["sample", str(cgan_run), "--class", "12", "-o", out], "class labels must be in 0..9"),
        (["sample", str(gan_run), "--vary-code", "c1", "-o", out], "no latent codes"),
        (["sample", str(cgan_run), "--truncation", "0.5", "-o", out], "needs a Gaussian latent"),
        (["interpolate", str(gan_run), "--seeds", "4", "-o", out], "at least two seeds"),
        (["arithmetic", str(gan_run), "--a", "1", "--b", "2", "--c", "3", "-o", out], "points"),
        (["sample", str(gan_run), "--truncation", "0", "-o", out], "must be positive"),
        (["mix", str(gan_run), "--rows", "1,2", "--cols", "3", "-o", out], "no per-layer styles"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    for argv in (
        ["sample", str(gan_run), "--truncation", "-1", "-o", out],
        ["interpolate", str(gan_run), "--seeds", "1,x", "-o", out],
        ["interpolate", str(gan_run), "--steps", "1", "-o", out],
    ):
        assert "usage: gankit" in _error(capsys, argv)


# ---------------------------------------------------------------- translate
@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("cli") / "cyclegan-run"
    sets = []
    for s in ("g_channels=4", "d_channels=4", "blocks=1", "pool_size=2"):
        sets += ["--set", f"model.{s}"]
    args = ["train", "cyclegan", "--data", "digits-negative", "--steps", "2", "--out", str(run)]
    assert main([*args, *sets, "--resolution", "16", "--batch-size", "2", "--no-progress"]) == 0
    return run


@pytest.fixture(scope="module")
def srgan_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("cli") / "srgan-run"
    sets = []
    for s in ("channels=4", "blocks=1", "content=mse", "adversarial_weight=0"):
        sets += ["--set", f"model.{s}"]
    args = ["train", "srgan", "--data", "photos-sr4", "--steps", "1", "--out", str(run)]
    assert main([*args, *sets, "--resolution", "32", "--batch-size", "2", "--no-progress"]) == 0
    return run


def _png(path: Path, size: tuple[int, int], mode: str = "L") -> Path:
    rng = np.random.default_rng(0)
    shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
    return path


def test_translate_odd_sizes_both_ways(cyclegan_run: Path, tmp_path: Path) -> None:
    odd = _png(tmp_path / "odd.png", (37, 23))
    out = tmp_path / "out.png"
    assert main(["translate", str(cyclegan_run), str(odd), "-o", str(out)]) == 0
    assert Image.open(out).size == (37, 23)
    back = tmp_path / "back"
    other = _png(tmp_path / "rgb.png", (20, 50), "RGB")  # read as the domain's channels
    args = ["translate", str(cyclegan_run), str(odd), str(other), "-o", str(back)]
    assert main([*args, "--direction", "BtoA"]) == 0
    assert Image.open(back / "odd.png").size == (37, 23)
    assert Image.open(back / "rgb.png").size == (20, 50)


def test_translate_super_resolution_tiled(srgan_run: Path, tmp_path: Path) -> None:
    image = _png(tmp_path / "small.png", (90, 70), "RGB")
    whole, tiled = tmp_path / "whole.png", tmp_path / "tiled.png"
    assert main(["translate", str(srgan_run), str(image), "-o", str(whole)]) == 0
    assert main(["translate", str(srgan_run), str(image), "-o", str(tiled), "--tile", "64"]) == 0
    a, b = np.asarray(Image.open(whole)), np.asarray(Image.open(tiled))
    assert a.shape == b.shape == (280, 360, 3)
    # the margins cover this tiny network's receptive field: tiles meet without seams
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_translate_errors(
    cyclegan_run: Path, srgan_run: Path, gan_run: Path, tmp_path: Path, capsys
) -> None:
    image = _png(tmp_path / "x.png", (16, 16))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    cases = [
        (["translate", str(gan_run), str(image), "-o", "y.png"], "does not translate"),
        (["translate", str(srgan_run), str(image), "-o", "y.png", "--direction", "BtoA"], "AtoB"),
        (["translate", str(cyclegan_run), str(bad), "-o", "y.png"], "cannot read image"),
        (["translate", str(cyclegan_run), "nope.png", "-o", "y.png"], "no such image"),
        (["translate", str(cyclegan_run), str(image), str(bad), "-o", "y.png"], "directory"),
        # written into the inputs' own folder, x.png would replace its input
        (["translate", str(cyclegan_run), str(image), str(bad), "-o", str(tmp_path)], "overwrite"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


# ---------------------------------------------------------------- scaling-up tools
def test_grow_schedule_prints_the_phases(gan_run: Path, capsys) -> None:
    argv = ["grow-schedule", "--resolution", "16", "--batch-size", "4", "--steps", "20"]
    assert main([*argv, "--set", "model.phase_images=10"]) == 0
    lines = capsys.readouterr().out.splitlines()[2:]
    # 4×4 for images 0-9 (steps 0-2), fades and stable phases of 10 images each
    assert [line.split()[:3] for line in lines] == [
        ["4×4", "stable", "0–2"],
        ["8×8", "fade", "3–4"],
        ["8×8", "stable", "5–7"],
        ["16×16", "fade", "8–9"],
        ["16×16", "stable", "10–19"],
    ]
    assert main(["grow-schedule", str(gan_run)]) == 2
    assert "growth is progan's" in capsys.readouterr().err


def test_translate_never_writes_two_outputs_to_one_path(
    cyclegan_run: Path, tmp_path: Path, capsys
) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    a = _png(tmp_path / "a/x.png", (16, 16))
    b = _png(tmp_path / "b/x.png", (20, 20))
    jpg = tmp_path / "a/x.jpg"
    Image.open(a).save(jpg)
    out = tmp_path / "out"
    assert main(["translate", str(cyclegan_run), str(a), str(b), "-o", str(out)]) == 0
    assert "wrote 2 translated image(s)" in capsys.readouterr().err
    assert Image.open(out / "a/x.png").size == (16, 16)
    assert Image.open(out / "b/x.png").size == (20, 20)
    # x.png beside x.jpg keep their whole names; a file named twice is translated once
    out2 = tmp_path / "out2"
    argv = ["translate", str(cyclegan_run), str(a), str(jpg), str(a), "-o", str(out2)]
    assert main(argv) == 0
    assert sorted(p.name for p in out2.iterdir()) == ["x.jpg.png", "x.png.png"]


# ---------------------------------------------------------------- project
def test_project_writes_latents_strip_and_projections(
    infogan_run: Path, tmp_path: Path, capsys
) -> None:
    from gankit.viz import save_image
    from gankit.viz.grid import to_uint8

    handle = gankit.load(infogan_run)
    own = save_image(handle.sample(1, seed=3)[0], tmp_path / "own.png")
    odd = _png(tmp_path / "odd.png", (20, 24))  # any size: centre-cropped, resized to 16×16
    out = tmp_path / "proj"
    argv = ["project", str(infogan_run), str(own), str(odd), "-o", str(out), "--steps", "20"]
    assert main([*argv, "--no-progress"]) == 0
    assert "own.png: PSNR" in capsys.readouterr().err
    assert np.load(out / "latents.npy").shape == (2, handle.model.latent_dim)
    card = json.loads((out / "latents.json").read_text())
    assert card["space"] == "z" and card["model"] == "infogan" and card["steps"] == 20
    assert card["images"] == [str(own), str(odd)]  # one row per image, in argument order
    assert Image.open(out / "strip.png").size == (2 * 66 + 2, 2 * 66 + 2)  # target, projection
    assert Image.open(out / "projections/odd.png").size == (16, 16)
    expected = handle.generate(handle.load_latents(out / "latents.npy"))
    written = np.asarray(Image.open(out / "projections/own.png"))
    np.testing.assert_array_equal(written, to_uint8(expected[:1])[0, ..., 0])

    walk = tmp_path / "walk.npy"
    argv = ["interpolate", str(infogan_run), "--latents", str(out / "latents.npy")]
    assert main([*argv, "--steps", "3", "-o", str(walk)]) == 0
    path = np.load(walk)
    assert path.shape == (3, 1, 16, 16)
    np.testing.assert_allclose(path[[0, -1]], expected.numpy(), atol=1e-6, rtol=0)
    total = tmp_path / "sum.npy"
    latents = str(out / "latents.npy")
    argv = ["arithmetic", str(infogan_run), "--a", latents, "--b", "4,5", "--c", latents]
    assert main([*argv, "--variations", "2", "-o", str(total)]) == 0
    figure = np.load(total)
    assert figure.shape == (4 * 3, 1, 16, 16)  # rows a, b, c, result; 2 + mean per row
    np.testing.assert_allclose(figure[:2], expected.numpy(), atol=1e-6, rtol=0)


def test_project_errors(
    infogan_run: Path, cgan_run: Path, cyclegan_run: Path, tmp_path: Path, capsys
) -> None:
    grey = _png(tmp_path / "grey.png", (16, 16))
    colour = _png(tmp_path / "colour.png", (16, 16), "RGB")
    proj = tmp_path / "proj"
    argv = ["project", str(infogan_run), str(grey), "-o", str(proj), "--steps", "2"]
    assert main([*argv, "--no-progress"]) == 0
    capsys.readouterr()
    latents = str(proj / "latents.npy")
    narrow = tmp_path / "narrow.npy"
    np.save(narrow, np.zeros((2, 3), np.float32))
    out = str(tmp_path / "out")
    cases = [
        (
            ["project", str(infogan_run), str(colour), "-o", out],
            "colour.png is a colour image (3 channels) and this run draws grey images (1 channel)",
        ),
        (["project", str(cyclegan_run), str(grey), "-o", out], "no latent space to project into"),
        (["project", str(infogan_run), str(grey), "-o", out, "--space", "w+"], "no w+ space"),
        (["project", str(cgan_run), str(grey), "-o", out], "class-conditional: give the class"),
        (["project", str(infogan_run), "nope.png", "-o", out], "no such image file"),
        (["project", str(infogan_run), str(grey), "-o", str(grey)], "is a file"),
        (["interpolate", str(infogan_run), "--latents", str(narrow), "-o", "w.png"], "are 3"),
        (["interpolate", str(infogan_run), "--latents", latents, "-o", "w.png"], "two seeds"),
        (["interpolate", str(cgan_run), "--latents", latents, "-o", "w.png"], "model infogan"),
        (
            ["interpolate", str(infogan_run), "--latents", latents, "--seeds", "1,2", "-o", "w"],
            "not both",
        ),
        (
            ["arithmetic", str(cgan_run), "--a", latents, "--b", "1", "--c", "2", "-o", "s.png"],
            "latents of model infogan",
        ),
        (
            ["arithmetic", str(cgan_run), "--a", "x.npy", "--b", "1", "--c", "2", "-o", "s.png"],
            "no such latents file",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert not Path(out).exists()  # nothing written
    argv = ["project", str(infogan_run), str(colour), "-o", out, "--convert", "--steps", "2"]
    assert main([*argv, "--no-progress"]) == 0  # its luminance


def test_a_closed_pipe_ends_quietly() -> None:
    """`gankit list | head -1`: the reader leaves early; no traceback, the pipe's status."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "gankit", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # long before the listing is written (importing torch takes a second)
    err = proc.stderr.read().decode()
    assert proc.wait(60) in (0, 141) and "Traceback" not in err, err


def test_train_says_when_other_processes_crowd_its_threads(tmp_path, monkeypatch, capsys) -> None:
    import torch

    import gankit.threads as threads

    monkeypatch.setattr(threads, "other_load", lambda seconds=0.2: 1.0)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # keep the suite's threads
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    args = ["train", "gan", "--data", "ring8", "--steps", "1", "--batch-size", "32"]
    assert main([*args, "--threads", "2", "--out", str(tmp_path / "a"), *TINY_GAN]) == 0
    err = capsys.readouterr().err
    assert "other processes keep 1.0 of this machine's 2 cores busy" in err
    assert "--threads 1 is faster" in err
    assert main([*args, "--threads", "1", "--out", str(tmp_path / "b"), *TINY_GAN]) == 0
    assert "other processes" not in capsys.readouterr().err
    # a resumed run keeps its saved thread count: one thread, so nothing to crowd
    assert main(["train", "--resume", str(tmp_path / "b"), "--steps", "2"]) == 0
    assert "other processes" not in capsys.readouterr().err

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
        assert sum(line.split()[0].split(":")[0] == name for line in out) == 1


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
        (["eval", str(gan_run), "--metrics", "is"], "no offline feature extractor"),
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
    assert main(["sample", str(run), "-o", str(tmp_path / "x.png")]) == 2
    assert "corrupt" in capsys.readouterr().err


def test_python_dash_m_entry_point(gan_run: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gankit", "sample", str(gan_run / "nope"), "-o", "x.png"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("gankit: error:") and "Traceback" not in proc.stderr

"""Same config, same seed, same thread count: the same weights, whatever else differs between
two processes (hash seed, working directory, run directory name, time of day)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch
from safetensors.torch import load_file

# models whose training draws from every kind of source: the global CPU generator in their
# losses (a GAN's noise), CycleGAN's history pools, StyleGAN's style-mixing coin
MODELS = ("gan", "dcgan", "cyclegan", "stylegan")

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import torch
    sys.path.insert(0, {tests!r})
    from conftest import tiny_config
    from gankit.training.trainer import Trainer
    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    for name in {models!r}:
        trainer = Trainer(tiny_config(name, steps=3), run_dir=out / f"a-much-longer-name-{{name}}")
        trainer.fit()
        trainer.close()
    """
)


def _train_all(out: Path, cwd: Path, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": "1"}
    script = SCRIPT.format(tests=str(Path(__file__).resolve().parents[1]), models=MODELS)
    proc = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_two_processes_of_one_config_give_identical_weights(tmp_path: Path) -> None:
    for which, seed in (("one", "1"), ("two", "12345")):
        (tmp_path / which).mkdir()
        _train_all(tmp_path / which / "runs", tmp_path / which, seed)
    for name in MODELS:
        a, b = (
            sorted((tmp_path / w / "runs" / f"a-much-longer-name-{name}").glob("*/*.safetensors"))
            for w in ("one", "two")
        )
        assert [p.name for p in a] == [p.name for p in b] and a
        for pa, pb in zip(a, b):
            ta, tb = load_file(str(pa)), load_file(str(pb))
            assert sorted(ta) == sorted(tb)
            differ = [k for k in ta if not torch.equal(ta[k], tb[k])]
            assert not differ, f"{name} {pa.name}: {differ[:5]}"

"""Fine-tuning (`--init RUN`): a new run starts from another run's weights, with fresh
optimisers, and refuses weights that do not fit, naming the parameter."""

from __future__ import annotations

import pytest
import torch
import yaml

import gankit
from gankit.cli import main
from gankit.errors import GankitError
from gankit.training.checkpoint import load_checkpoint, subdict
from gankit.training.trainer import Trainer

from ..conftest import tiny_config


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A 3-step dcgan run on digits, with an EMA of G."""
    run = tmp_path_factory.mktemp("init") / "source"
    Trainer(tiny_config("dcgan", steps=3, ema=True, ema_decay=0.5), run_dir=run).fit()
    return run


def test_new_run_starts_from_the_weights_with_fresh_optimisers(source, tmp_path) -> None:
    cfg = tiny_config("dcgan", steps=2, ema=True, ema_decay=0.5, init=str(source))
    cfg.data.spec = "faces"  # fine-tuning on other (gray) data of the same shape
    trainer = Trainer(cfg, run_dir=tmp_path / "tuned")
    tensors, _, path = load_checkpoint(source)
    for key, value in subdict(tensors, "model").items():
        assert torch.equal(trainer.model.state_dict()[key].contiguous(), value), key
    assert trainer.ema is not None
    for key, value in subdict(tensors, "ema").items():
        assert torch.equal(trainer.ema.state_dict()[key].contiguous(), value), key
    assert all(not opt.state for opt in trainer.optimizers)  # nothing carried over
    trainer.fit()
    recorded = yaml.safe_load((tmp_path / "tuned/config.yaml").read_text())["train"]["init"]
    assert recorded == str(path.with_suffix(".safetensors").resolve())
    # a resumed fine-tuned run continues from its own checkpoint, not from the source again
    result = gankit.train(resume=tmp_path / "tuned", steps=3)
    assert result.step == 3


def test_the_source_run_may_lack_an_ema(tmp_path) -> None:
    Trainer(tiny_config("dcgan", steps=1, ema=False), run_dir=tmp_path / "plain").fit()
    trainer = Trainer(tiny_config("dcgan", ema=True, init=str(tmp_path / "plain")), write=False)
    assert trainer.ema is not None  # the average starts from the loaded G
    for key, value in trainer.ema.state_dict().items():
        assert torch.equal(value, trainer.model.state_dict()[key]), key


def test_another_model_is_refused(source) -> None:
    with pytest.raises(GankitError, match="is a dcgan run: a lsgan run can start only"):
        Trainer(tiny_config("lsgan", init=str(source)), write=False)


def test_other_shapes_are_refused_naming_the_parameter(source) -> None:
    cfg = tiny_config("dcgan", init=str(source))
    cfg.model.g_channels = 4  # type: ignore[attr-defined]
    with pytest.raises(GankitError, match=r"G\.net\.0\.weight is .* there but .* here"):
        Trainer(cfg, write=False)


def test_a_missing_run_is_refused(tmp_path) -> None:
    with pytest.raises(GankitError, match="--init: no such run"):
        Trainer(tiny_config("dcgan", init=str(tmp_path / "nope")), write=False)


def test_cli_init_and_its_errors(source, tmp_path, capsys) -> None:
    args = ["train", "dcgan", "--data", "digits", "--steps", "1", "--resolution", "16"]
    args += ["--set", "model.g_channels=8", "--set", "model.d_channels=8", "--no-progress"]
    assert main([*args, "--init", str(source), "--out", str(tmp_path / "ok")]) == 0
    assert main(["train", "gan", "--data", "digits", "--init", str(source)]) == 2
    err = capsys.readouterr().err
    assert "is a dcgan run: a gan run can start only" in err and "Traceback" not in err
    assert main([*args, "--init", str(source), "--resume", str(tmp_path / "ok")]) == 2
    assert "--init starts a new run" in capsys.readouterr().err


def test_srgan_starts_from_an_srresnet_run_with_a_fresh_discriminator(tmp_path) -> None:
    """The paper's recipe: SRResNet (MSE, no D) first, then SRGAN from its generator. The
    networks the source lacks (D; the content loss's fixed features) start as a new run's."""
    from ..conftest import TINY, Tiny

    tiny = TINY["srgan"]
    sets = (*tiny.sets, "model.adversarial_weight=0", "model.content=mse")
    resnet = Tiny(tiny.data, sets, tiny.resolution, tiny.batch_size)
    Trainer(tiny_config("srgan", resnet, steps=2), run_dir=tmp_path / "srresnet").fit()
    tensors, _, _ = load_checkpoint(tmp_path / "srresnet")
    assert not any(k.startswith("model.D.") for k in tensors)

    fresh = Trainer(tiny_config("srgan"), write=False).model.state_dict()
    tuned = Trainer(tiny_config("srgan", init=str(tmp_path / "srresnet")), write=False)
    state = tuned.model.state_dict()
    for key, value in subdict(tensors, "model").items():
        assert torch.equal(state[key].contiguous(), value), key  # G: SRResNet's weights
    d_keys = [k for k in state if k.startswith("D.")]
    assert d_keys and all(torch.equal(state[k], fresh[k]) for k in d_keys)  # D: as seeded
    assert [p.name for p in tuned.phases] == ["D", "G"]

"""Typed configs: strict coercion, `--set` overrides, and the run config's resolution order."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from gankit.config import dump_yaml, from_dict, load_yaml, merge, parse_override, set_path, to_dict
from gankit.data import DataConfig
from gankit.errors import GankitError
from gankit.models import MODELS
from gankit.training import config as run_config
from gankit.training.config import RunConfig, TrainConfig, preset, resolve_run_config

CONFIGS = Path(run_config.__file__).resolve().parents[1] / "configs"


@dataclass
class Opt:
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)


@dataclass
class Example:
    steps: int = 1
    scale: float = 1.0
    flag: bool = False
    mode: Literal["a", "b"] = "a"
    channels: Literal[1, 3] = 3
    name: str = "x"
    width: int | None = None
    hidden: tuple[int, ...] = (4, 4)
    opt: Opt = field(default_factory=Opt)


# --- from_dict ---------------------------------------------------------------------------------


def test_from_dict_empty_gives_defaults() -> None:
    assert from_dict(Example, None) == Example()
    assert from_dict(Example, {}) == Example()


def test_from_dict_coerces() -> None:
    got = from_dict(
        Example,
        {
            "steps": 5.0,
            "scale": "1e-4",  # YAML 1.1 reads 1e-4 (no dot) as a string
            "flag": True,
            "mode": "b",
            "channels": 1,
            "name": 7,
            "width": 32,
            "hidden": [8, 16, 32],
            "opt": {"lr": "2e-4", "betas": [0, 0.9]},
        },
    )
    expected = Example(5, 1e-4, True, "b", 1, "7", 32, (8, 16, 32), Opt(2e-4, (0.0, 0.9)))
    assert got == expected
    assert type(got.steps) is int and type(got.scale) is float
    assert type(got.opt.betas[0]) is float and isinstance(got.hidden, tuple)
    assert from_dict(Example, {"width": None}).width is None
    assert from_dict(Example, {"opt": Opt(lr=0.5)}).opt == Opt(lr=0.5)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"steps": 1.5}, "steps must be an integer"),
        ({"steps": "10"}, "steps must be an integer"),
        ({"steps": True}, "steps must be an integer"),
        ({"scale": "fast"}, "scale must be a number"),
        ({"scale": False}, "scale must be a number"),
        ({"flag": "yes"}, "flag must be true or false"),
        ({"flag": 1}, "flag must be true or false"),
        ({"mode": "c"}, r"bad value 'c' for mode \(choose from 'a', 'b'\)"),
        ({"channels": 2}, "bad value 2 for channels"),
        ({"channels": "3"}, "bad value '3' for channels"),
        ({"channels": True}, "bad value True for channels"),  # True == 1, but is not 1
        ({"name": None}, "name must be a string"),
        ({"width": "wide"}, "width must be an integer"),
        ({"hidden": 4}, "hidden must be a list"),
        ({"hidden": "44"}, "hidden must be a list"),
        ({"hidden": [4, 4.5]}, r"hidden\[1\] must be an integer"),
        ({"opt": 3}, "opt must be a mapping"),
        ({"opt": {"betas": [0.5]}}, r"opt\.betas needs 2 values, got 1"),
        ({"opt": {"betas": [0.5, 0.9, 0.99]}}, r"opt\.betas needs 2 values, got 3"),
        ({"opt": {"lr": "fast"}}, r"opt\.lr must be a number"),
    ],
)
def test_from_dict_rejects_wrong_types(values: dict[str, Any], message: str) -> None:
    with pytest.raises(GankitError, match=message):
        from_dict(Example, values)


def test_from_dict_unknown_keys_are_named() -> None:
    with pytest.raises(GankitError, match=r"unknown config key stepz \(valid keys here: .*steps"):
        from_dict(Example, {"stepz": 3})
    with pytest.raises(GankitError, match=r"unknown config key top\.opt\.lrr"):
        from_dict(Example, {"opt": {"lrr": 3}}, where="top.")


def test_to_dict_is_plain() -> None:
    d = to_dict(Example())
    assert d["hidden"] == [4, 4] and d["opt"] == {"lr": 1e-3, "betas": [0.5, 0.999]}
    assert from_dict(Example, json.loads(json.dumps(d))) == Example()


# --- overrides, merging, YAML ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("train.steps=100", ["train", "steps"], 100),
        ("model.g_opt.betas=[0.0, 0.9]", ["model", "g_opt", "betas"], [0.0, 0.9]),
        ("model.g_opt.lr=1.5e-4", ["model", "g_opt", "lr"], 1.5e-4),
        ("train.ema=true", ["train", "ema"], True),
        ("train.ema=null", ["train", "ema"], None),
        ("data.spec=folder:~/faces", ["data", "spec"], "folder:~/faces"),
        (" train.device = cpu", ["train", "device"], "cpu"),
        ("data.spec=", ["data", "spec"], ""),
        ("data.spec=[unclosed", ["data", "spec"], "[unclosed"),  # not YAML: kept as text
    ],
)
def test_parse_override(text: str, path: list[str], value: Any) -> None:
    assert parse_override(text) == (path, value)


@pytest.mark.parametrize("text", ["train.steps", "=5", "train..steps=1", ".steps=1", "steps.=1"])
def test_parse_override_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(GankitError, match="expected key=value"):
        parse_override(text)


def test_set_path_and_merge() -> None:
    tree: dict[str, Any] = {"train": {"steps": 1}}
    set_path(tree, ["model", "g_opt", "lr"], 0.1)
    assert tree == {"train": {"steps": 1}, "model": {"g_opt": {"lr": 0.1}}}
    with pytest.raises(GankitError, match=r"train\.steps\.x: steps is not a section"):
        set_path(tree, ["train", "steps", "x"], 1)
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    merged = merge(base, {"a": {"c": [3]}, "e": 2})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # the base is untouched


def test_load_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("")
    assert load_yaml(path) == {}
    path.write_text("- a\n- b\n")
    with pytest.raises(GankitError, match="mapping at the top level"):
        load_yaml(path)
    path.write_text("a: [1\n")
    with pytest.raises(GankitError, match="not valid YAML"):
        load_yaml(path)
    with pytest.raises(GankitError, match="cannot read config"):
        load_yaml(tmp_path / "missing.yaml")


# --- RunConfig and its resolution --------------------------------------------------------------


def test_model_train_defaults_beat_dataclass_defaults() -> None:
    batch = MODELS.get("dcgan").train_defaults["batch_size"]
    assert batch != TrainConfig().batch_size  # else this test could not tell the two apart
    cfg = resolve_run_config("dcgan", "folder:/photos")  # a pair without a preset
    assert cfg.train.batch_size == batch
    assert cfg.train.steps == TrainConfig().steps
    assert cfg.model == MODELS.get("dcgan").Config()
    assert cfg.data == DataConfig(spec="folder:/photos")


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


SPEC_EXAMPLES = {"glyphs-pairs": "glyphs-pairs:sans>serif"}


def _bundled_presets() -> list[tuple[str, str]]:
    found = []
    for path in sorted(CONFIGS.glob("*.yaml")):
        models = [m for m in MODELS.names() if path.stem.startswith(m + "-")]
        model = max(models, key=len)
        found.append((model, path.stem[len(model) + 1 :]))
    return found


@pytest.mark.parametrize(("model", "dataset"), _bundled_presets())
def test_bundled_presets_are_applied(model: str, dataset: str) -> None:
    values = _leaves(preset(model, dataset))
    assert values
    spec = SPEC_EXAMPLES.get(dataset, dataset)  # a preset applies to every argument of its set
    got = _leaves(resolve_run_config(model, spec).to_dict())
    for key, value in values.items():
        assert got[key] == value, key


def test_no_preset_is_empty() -> None:
    assert preset("dcgan", "no-such-dataset") == {}


LAYERS = ["train_defaults", "preset", "config_file", "flags", "sets"]


@pytest.mark.parametrize("top", range(len(LAYERS)))
def test_resolution_order(top: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # every layer up to `top` sets train.batch_size to its own value; the highest one wins
    values = {"train_defaults": None, "preset": 100, "config_file": 50, "flags": 30, "sets": 20}
    present = LAYERS[: top + 1]

    def fake_preset(model: str, dataset: str) -> dict[str, Any]:
        assert (model, dataset) == ("dcgan", "folder")
        if "preset" not in present:
            return {}
        return {"train": {"batch_size": 100, "steps": 7}, "model": {"g_opt": {"lr": 0.5}}}

    monkeypatch.setattr(run_config, "preset", fake_preset)
    config_file = tmp_path / "run.yaml"
    config_file.write_text("train: {batch_size: 50}\nmodel: {g_opt: {betas: [0.1, 0.2]}}\n")
    cfg = resolve_run_config(
        "dcgan",
        "folder:/data/faces",
        config_file=str(config_file) if "config_file" in present else None,
        flags={"train": {"batch_size": 30}} if "flags" in present else None,
        sets=["train.batch_size=20", "model.g_opt.eps=1e-6"] if "sets" in present else [],
    )
    expected = values[present[-1]] or MODELS.get("dcgan").train_defaults["batch_size"]
    assert cfg.train.batch_size == expected
    assert cfg.data.spec == "folder:/data/faces"
    # layers merge deeply: what a higher layer does not mention survives from a lower one
    default_opt = MODELS.get("dcgan").Config().g_opt
    assert cfg.train.steps == (7 if "preset" in present else TrainConfig().steps)
    assert cfg.model.g_opt.lr == (0.5 if "preset" in present else default_opt.lr)
    want_betas = (0.1, 0.2) if "config_file" in present else default_opt.betas
    assert cfg.model.g_opt.betas == want_betas
    assert cfg.model.g_opt.eps == (1e-6 if "sets" in present else default_opt.eps)
    assert cfg.model.d_opt == default_opt


def test_resolution_errors(tmp_path: Path) -> None:
    with pytest.raises(GankitError, match=r"unknown config key model\.g_opt\.lrr"):
        resolve_run_config("dcgan", "digits", sets=["model.g_opt.lrr=1"])
    with pytest.raises(GankitError, match=r"unknown config key train\.stepz"):
        resolve_run_config("dcgan", "digits", flags={"train": {"stepz": 1}})
    with pytest.raises(GankitError, match=r"model\.name cannot be changed"):
        resolve_run_config("dcgan", "digits", sets=["model.name=gan"])
    with pytest.raises(GankitError, match="did you mean 'dcgan'"):
        resolve_run_config("dcgn", "digits")
    with pytest.raises(GankitError, match="did you mean 'digits'"):
        resolve_run_config("dcgan", "digts")
    with pytest.raises(GankitError, match=r"train\.steps must be at least 1"):
        resolve_run_config("dcgan", "digits", sets=["train.steps=0"])
    with pytest.raises(GankitError, match=r"bad value True for data\.channels"):
        resolve_run_config("dcgan", "digits", sets=["data.channels=true"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("optimiser: {lr: 1}\n")
    with pytest.raises(GankitError, match="unknown config section"):
        resolve_run_config("dcgan", "digits", config_file=str(bad))
    with pytest.raises(GankitError, match="expected key=value"):
        resolve_run_config("dcgan", "digits", sets=["train.steps"])


def test_from_dict_needs_a_model_name() -> None:
    with pytest.raises(GankitError, match="names no model"):
        RunConfig.from_dict({"train": {"steps": 1}})


def _custom() -> RunConfig:
    return resolve_run_config(
        "dcgan",
        "folder:/x",
        sets=[
            "model.g_opt.lr=1e-4",
            "model.g_opt.betas=[0.0, 0.9]",
            "model.d_opt.eps=1e-12",
            "model.init_std=null",
            "data.resolution=32",
            "data.channels=1",
            "data.split=all",
            "train.ema=true",
            "train.ema_decay=0.9999",
            "train.precision=bf16",
            "train.steps=123",
        ],
    )


def test_overrides_reach_the_config() -> None:
    cfg = _custom()
    assert cfg.model.g_opt.lr == 1e-4 and cfg.model.g_opt.betas == (0.0, 0.9)
    assert cfg.model.d_opt.eps == 1e-12 and cfg.model.init_std is None
    assert (cfg.data.resolution, cfg.data.channels, cfg.data.split) == (32, 1, "all")
    assert (cfg.train.ema, cfg.train.ema_decay, cfg.train.precision) == (True, 0.9999, "bf16")
    assert cfg.train.steps == 123


def test_a_partial_nested_override_keeps_the_models_own_defaults() -> None:
    """`g_opt.lr` alone changes only the rate: WGAN stays on RMSprop and WGAN-GP keeps its
    β = (0, 0.9), not OptimConfig's generic Adam defaults."""
    wgan = resolve_run_config("wgan", "digits", sets=["model.g_opt.lr=1e-4"]).model
    assert (wgan.g_opt.name, wgan.g_opt.lr) == ("rmsprop", 1e-4)
    assert wgan.d_opt.lr == 5e-5  # untouched
    gp = resolve_run_config("wgan-gp", "digits", sets=["model.d_opt.lr=3e-4"]).model
    assert (gp.d_opt.name, gp.d_opt.lr, gp.d_opt.betas) == ("adam", 3e-4, (0.0, 0.9))


def test_run_config_round_trips() -> None:
    cfg = _custom()
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    assert RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    text = cfg.to_yaml()
    assert RunConfig.from_dict(yaml.safe_load(text)) == cfg
    assert yaml.safe_load(dump_yaml(cfg.to_dict())) == cfg.to_dict()
    assert cfg.model_cls is MODELS.get("dcgan")


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("steps", 0, "train.steps must be at least 1, got 0"),
        ("steps", -5, "train.steps must be at least 1"),
        ("batch_size", 0, "train.batch_size must be at least 1"),
        ("samples", -1, "train.samples must be at least 1"),
        ("log_every", -1, "train.log_every must be at least 0"),
        ("sample_every", -1, "train.sample_every must be at least 0"),
        ("checkpoint_every", -1, "train.checkpoint_every must be at least 0"),
        ("keep_checkpoints", -2, "train.keep_checkpoints must be at least 0"),
        ("ema_start", -1, "train.ema_start must be at least 0"),
        ("ema_decay", 1.0, r"train.ema_decay must be in \[0, 1\)"),
        ("ema_decay", -0.1, r"train.ema_decay must be in \[0, 1\)"),
    ],
)
def test_train_config_rejects_out_of_range(field_name: str, value: Any, message: str) -> None:
    with pytest.raises(GankitError, match=message):
        from_dict(TrainConfig, {field_name: value}, where="train.")
    with pytest.raises(GankitError, match=message.replace("train.", "TrainConfig.")):
        TrainConfig(**{field_name: value})  # built in Python: the same check


def test_train_config_accepts_edges() -> None:
    TrainConfig(
        steps=1,
        batch_size=1,
        samples=1,
        log_every=0,
        sample_every=0,
        checkpoint_every=0,
        keep_checkpoints=0,
        ema_decay=0.0,
    )


# --- declared ranges ---------------------------------------------------------------------------


def _config_classes() -> list[type]:
    from gankit.models.base import OptimConfig

    return [DataConfig, TrainConfig, OptimConfig, *(e.obj.Config for e in MODELS)]


def _numbers_without_range(tp: Any, where: str) -> list[str]:
    """The int/float leaves of type `tp` that carry no `Range`."""
    import typing

    from gankit.config import Range

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        if any(isinstance(a, Range) for a in args[1:]):
            return []
        return _numbers_without_range(args[0], where)
    if tp in (int, float):
        return [where]
    return [
        name
        for arg in args
        if arg is not Ellipsis and arg is not type(None) and not isinstance(arg, str | int)
        for name in _numbers_without_range(arg, where)
    ]


@pytest.mark.parametrize("cls", _config_classes(), ids=lambda c: c.__qualname__)
def test_every_numeric_config_field_declares_its_range(cls: type) -> None:
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls, include_extras=True)
    missing = [
        name
        for f in dataclasses.fields(cls)
        for name in _numbers_without_range(hints[f.name], f"{cls.__qualname__}.{f.name}")
    ]
    assert not missing, f"declare a Range for: {', '.join(missing)}"
    cls()  # and every default lies in its range


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.g_opt.lr=-1", r"model\.g_opt\.lr must be at least 0, got -1"),
        ("model.g_opt.lr=.nan", r"model\.g_opt\.lr must be a finite number"),
        ("model.g_opt.betas=0.5", r"model\.g_opt\.betas must be a list, got 0\.5"),
        ("model.g_opt.betas=[0.5, 1]", r"model\.g_opt\.betas\[1\] must be in \[0, 1\)"),
        ("model.g_channels=0", r"model\.g_channels must be at least 1, got 0"),
        ("model.z_dim=-3", r"model\.z_dim must be at least 1"),
        ("model.d_dropout=1", r"model\.d_dropout must be in \[0, 1\)"),
        ("data.resolution=1000000", r"data\.resolution must be in \[1, 4096\], got 1000000"),
        ("train=5", "train must be a mapping of keys to values, got 5"),
        ("model=5", "model must be a mapping of keys to values, got 5"),
        ("data=[1, 2]", r"data must be a mapping of keys to values, got \[1, 2\]"),
    ],
)
def test_out_of_range_and_wrong_shape_overrides_are_user_errors(
    override: str, message: str
) -> None:
    with pytest.raises(GankitError, match=message):
        resolve_run_config("dcgan", "digits", sets=[override])


def test_configs_built_in_python_are_checked_too() -> None:
    from gankit.models.base import OptimConfig

    with pytest.raises(GankitError, match=r"OptimConfig\.lr must be at least 0"):
        OptimConfig(lr=-1.0)
    with pytest.raises(GankitError, match=r"DataConfig\.resolution must be in \[1, 4096\]"):
        DataConfig("digits", resolution=0)
    assert OptimConfig(betas=[0, 0.9]).betas == (0.0, 0.9)  # type: ignore[arg-type]

"""Print a model's layers as a Markdown table of output shapes and parameter counts, as the docs'
architecture tables show them: `python scripts/arch_table.py dcgan digits [--depth 2] [--set K=V]`.

It builds the preset's model exactly as `gankit train MODEL --data DATA` would, runs one training
step on a real batch with forward hooks on every module down to `--depth` levels below each
network, and prints each module the step ran, with the shape of its (first) output.
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

from torch import Tensor, nn

from gankit.training.config import resolve_run_config
from gankit.training.trainer import Trainer


def _shape(out: Any) -> str:
    while isinstance(out, tuple | list) and out:
        out = out[0]
    if not isinstance(out, Tensor):
        return "—"
    return "×".join(map(str, out.shape[1:])) or "scalar"


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def arch_table(model: str, data: str, depth: int, sets: list[str]) -> str:
    """The Markdown table (one section per network) for MODEL trained on DATA."""
    flags = {"train": {"steps": 1, "progress": False, "sample_every": 0, "checkpoint_every": 0}}
    cfg = resolve_run_config(model, data, flags=flags, sets=sets)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, run_dir=tmp)
        seen: dict[str, str] = {}
        handles = []
        for net_name, net in trainer.model.named_children():
            for name, module in net.named_modules(prefix=net_name):
                if name.count(".") <= depth:
                    hook = _recorder(seen, name)
                    handles.append(module.register_forward_hook(hook))
        trainer.train_step(0)
        for h in handles:
            h.remove()
        modules = dict(trainer.model.named_modules())
    rows = [
        "| module | type | output shape (per sample) | parameters |",
        "| --- | --- | --- | ---: |",
    ]
    for name, module in modules.items():  # in the order the networks declare them
        if name not in seen:
            continue
        shape = seen[name]
        indent = "&nbsp;&nbsp;" * name.count(".")
        rows.append(
            f"| {indent}`{name}` | {type(module).__name__} | {shape} | {_params(module):,} |"
        )
    return "\n".join(rows)


def _recorder(seen: dict[str, str], name: str) -> Any:
    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        seen.setdefault(name, _shape(output))

    return hook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--depth", type=int, default=1, help="levels below each network")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    print(arch_table(args.model, args.data, args.depth, args.set))


if __name__ == "__main__":
    main()

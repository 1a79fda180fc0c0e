"""Which models train faster in the channels-last memory layout on this machine.

    python benchmarks/channels_last.py        # writes benchmarks/results/channels-last.md

Each image model's preset on digits (or its image-to-image pair) is trained in both layouts in
one process, the two taking turns in blocks of steps; medians over the blocks. The models whose
ratio stays below 1 default to the contiguous layout (`GANModel.channels_last`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import gankit  # noqa: F401  (first: it sets PyTorch's thread spinning as `gankit train` runs)

# isort: split
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine

from gankit.training.config import resolve_run_config
from gankit.training.trainer import Trainer

CASES = [
    ("dcgan", "digits", []),
    ("infogan", "digits", []),
    ("sagan", "digits", []),
    ("biggan", "digits", []),
    ("progan", "digits", []),
    ("stylegan", "digits", []),
    ("stylegan", "digits", ["model.version=2"]),
    ("pix2pix", "glyphs-pairs:sans>serif", []),
    ("cyclegan", "digits2glyphs", []),
    ("discogan", "digits2glyphs", []),
    ("cogan", "digits-negative", []),
    ("srgan", "photos-sr4", []),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "channels-last.md")
    args = parser.parse_args()
    rows = []
    for model, data, sets in CASES:
        flags = lambda layout: {"train": {"progress": False, "channels_last": layout}}  # noqa: E731
        trainers = {
            layout: Trainer(resolve_run_config(model, data, flags=flags(layout), sets=sets),
                            write=False)
            for layout in (True, False)
        }  # fmt: skip
        default = type(trainers[True].model).channels_last(trainers[True].config.model)
        steps = dict.fromkeys(trainers, 0)
        times: dict[bool, list[float]] = {True: [], False: []}
        for layout, trainer in trainers.items():  # warm-up
            for _ in range(2):
                trainer.train_step(steps[layout])
                steps[layout] += 1
        for _ in range(args.blocks):
            for layout, trainer in trainers.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    trainer.train_step(steps[layout])
                    steps[layout] += 1
                times[layout].append((time.perf_counter() - start) / args.steps * 1000)
        on, off = statistics.median(times[True]), statistics.median(times[False])
        name = f"{model} ({', '.join(sets)})" if sets else model
        rows.append(
            f"| {name} | {data} | {on:.1f} | {off:.1f} | {off / on:.2f}× | "
            f"{'channels-last' if default else 'contiguous'} |"
        )
        print(rows[-1], flush=True)
    text = [
        "# Channels-last or contiguous, per model",
        "",
        f"Machine: {machine()}. Made by `python benchmarks/channels_last.py --blocks "
        f"{args.blocks} --steps {args.steps}`: each model's preset, both layouts in one "
        f"process taking turns in {args.blocks} blocks of {args.steps} steps after 2 warm-up "
        'steps; medians. "speed-up" is the contiguous time over the channels-last time.',
        "",
        "| model | data | channels-last ms/step | contiguous ms/step | speed-up | default |",
        "| --- | --- | ---: | ---: | ---: | --- |",
        *rows,
        "",
    ]
    args.out.write_text("\n".join(text))


if __name__ == "__main__":
    main()

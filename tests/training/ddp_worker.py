"""Run under torchrun by test_distributed.py: train briefly (with ADA, whose p each rank must
agree on), then save this rank's weights and p."""

import json
import os
import sys

from safetensors.torch import save_file

import gankit

out, run = sys.argv[1], sys.argv[2]
result = gankit.train(
    "dcgan",  # batch norm in G and D: the buffers must stay in sync too
    "digits",
    steps=4,
    batch_size=16,
    resolution=16,
    out=run,
    overrides=["model.g_channels=4", "model.d_channels=4"],
    train_options={
        "progress": False,
        "log_every": 1,
        "sample_every": 2,
        "checkpoint_every": 2,
        "augment": "ada",  # p moves by 16 / 500 per step, from r_t summed over both ranks
        "ada_interval": 1,
        "ada_kimg": 0.5,
        "ada_p": 0.5,
    },
)
state = {k: v.contiguous() for k, v in result.model.state_dict().items()}
save_file(state, os.path.join(out, f"rank{os.environ['RANK']}.safetensors"))
ada = {k: v for k, v in result.logs.items() if k.startswith("augment/")}
with open(os.path.join(out, f"rank{os.environ['RANK']}.json"), "w") as f:
    json.dump(ada, f)

"""The README's commands are the ones CI runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _block_after(text: str, heading: str) -> list[str]:
    section = text.split(heading, 1)[1]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S)
    assert block, f"no code block after {heading!r}"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_ci_runs_the_readme_setup_and_test_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text().splitlines()
    setup, main_job, test = _block_after(readme, "## Quick start")
    assert setup in ci
    assert test in ci
    assert main_job == "gankit train dcgan --data digits"


# --- the README's claims against the code -------------------------------------------------


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def _table_names(text: str, after: str) -> set[str]:
    """The first-column `names` of the table(s) between `after` and the next `## ` heading."""
    section = text.split(after, 1)[1].split("\n## ", 1)[0]
    cells = re.findall(r"^\| (`[^|]+`(?:, `[^|]+`)*) \|", section, re.M)
    return {name for cell in cells for name in re.findall(r"`([^`]+)`", cell)}


def test_the_model_tables_name_every_registered_model() -> None:
    from gankit.models import MODELS

    assert _table_names(_readme(), "## Models") == set(MODELS.names())
    assert "Models (18)" in _readme() and len(MODELS.names()) == 18


def test_the_dataset_table_names_every_dataset_spec() -> None:
    from gankit.data import DATASETS, spec_usage

    specs = {spec_usage(e.name).replace("|", "\\|") for e in DATASETS}
    assert _table_names(_readme(), "## Datasets") == specs


def test_the_eval_synopsis_names_every_metric() -> None:
    from gankit.metrics import METRICS

    line = re.search(r"METRICS: ([\w,]+)", _readme())
    assert line and set(line.group(1).split(",")) == set(METRICS.names())
    documented = set(re.findall(r"^- `(\w+)` —", _readme(), re.M))
    assert set(METRICS.names()) <= documented


def _commands() -> list[list[str]]:
    """Every `gankit ...` command of the README's bash blocks, split as a shell would."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", _readme(), re.S):
        for line in block.splitlines():
            for part in line.split("#", 1)[0].split("&&"):
                words = shlex.split(part)
                if words[:1] == ["gankit"]:
                    found.append(words[1:])
    return found


def test_every_readme_command_parses_and_names_real_models_and_data() -> None:
    from gankit.cli import build_parser
    from gankit.data.base import split_spec
    from gankit.models import MODELS

    commands = _commands()
    assert len(commands) > 20
    parser = build_parser()
    for words in commands:
        args = parser.parse_args(words)  # exits (SystemExit) on a bad flag or a missing -o
        if args.command == "train" and args.model:
            assert args.model in MODELS, words
            split_spec(args.data)  # a known dataset, with its argument where it needs one


def test_the_quoted_test_count_is_the_suites() -> None:
    """The README's "about N tests, about M minutes" stays near the truth (±15% on N)."""
    claim = re.search(r"\*\*The tests\*\* \(about ([\d,]+), about (\d+) minutes", _readme())
    assert claim
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    count = int(re.search(r"(\d+) tests? collected", proc.stdout).group(1))  # type: ignore[union-attr]
    claimed = int(claim.group(1).replace(",", ""))
    assert 0.85 * count <= claimed <= 1.15 * count, (claimed, count)

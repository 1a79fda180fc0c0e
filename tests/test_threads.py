"""CPU threads under load: the spin limit and the crowding note."""

from __future__ import annotations

import os
import subprocess
import sys

from gankit.threads import (
    SPIN_COUNT,
    crowding_note,
    limit_spinning,
    other_load,
    usable_cores,
)


def test_spin_limit_respects_the_users_choice(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "torch")  # as if torch were not loaded yet
    env: dict[str, str] = {}
    limit_spinning(env)
    assert env == {"GOMP_SPINCOUNT": SPIN_COUNT}
    env = {"GOMP_SPINCOUNT": "300000"}
    limit_spinning(env)
    assert env == {"GOMP_SPINCOUNT": "300000"}
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    limit_spinning(env)
    assert env == {"OMP_WAIT_POLICY": "ACTIVE"}


def test_importing_gankit_first_limits_spinning() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    code = "import os, gankit; print(os.environ.get('GOMP_SPINCOUNT'))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == SPIN_COUNT
    code = "import os, torch, gankit; print(os.environ.get('GOMP_SPINCOUNT'))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "None"  # too late to matter: nothing is set


def test_crowding_note() -> None:
    assert crowding_note(2, 0.0, 2) is None  # alone
    assert crowding_note(1, 2.0, 2) is None  # one thread never waits on another
    assert crowding_note(2, None, 2) is None  # the load is unknown
    assert crowding_note(4, 1.0, 8) is None  # room for both
    note = crowding_note(2, 1.0, 2)
    assert note is not None and "--threads 1" in note and "1.0 of this machine's 2" in note
    note = crowding_note(8, 3.2, 8)
    assert note is not None and "--threads 5" in note


def test_other_load_sees_a_busy_process() -> None:
    if not os.path.exists("/proc/stat"):
        assert other_load(0.05) is None
        return
    quiet = other_load(0.3)
    assert quiet is not None and 0.0 <= quiet <= usable_cores()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        loaded = other_load(0.5)
    finally:
        busy.kill()
        busy.wait()
    assert loaded is not None and loaded > quiet + 0.5

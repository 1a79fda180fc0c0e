"""`faces`: scikit-image's LFW faces, split with mirrors, offline."""

from __future__ import annotations

import socket

import pytest
import torch

from gankit.data import DataConfig, build_dataset


def _all(**kw) -> torch.Tensor:
    ds = build_dataset(DataConfig(spec="faces", **kw))
    return ds.batch(torch.arange(len(ds)))["x"]


def test_faces_offline_shapes_and_range(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("faces tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    x = _all(resolution=16)
    assert x.shape == (180, 1, 16, 16)
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0.2
    assert _all().shape == (180, 1, 32, 32)  # default side: 32


def test_faces_split_is_disjoint_and_mirrored() -> None:
    train, test, every = _all(split="train"), _all(split="test"), _all(split="all")
    assert len(test) == 20 and len(every) == 200
    torch.testing.assert_close(test[10:], test[:10].flip(-1))  # the second half mirrors
    distances = torch.cdist(test[:10].flatten(1), train.flatten(1))
    assert distances.min() > 1.0  # no held-out face (or its mirror) is in the training set
    torch.testing.assert_close(_all(split="test"), test)  # deterministic

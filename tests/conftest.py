"""Shared fixtures: tiny configs on the bundled digits, and a small fake Fashion dataset."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch

from mtl_core.config import RunConfig
from mtl_core.data import splits as data
from mtl_core.data.datasets import DATASETS, DatasetSpec, RawData
from mtl_core.data.tasks import FASHION_FAMILY

# A suite started as a background job of a shell without job control (`make test &` in a
# script) runs with SIGINT ignored, and every command a test starts would inherit that: the
# Ctrl-C tests would send a signal their command ignores. Python's own handler again here
# (a command started then gets the default disposition, as from a terminal).
signal.signal(signal.SIGINT, signal.default_int_handler)

# The dashboard's workers train at niceness 10 by default (MTL_WORKER_NICE): on a machine
# another job keeps busy, such a worker gets about a tenth of a core, and the runs the tests
# wait for would time out. The suite's managers and servers train at the tests' priority;
# tests/test_runs.py tests the niceness itself. A value set by whoever runs the suite stays.
os.environ.setdefault("MTL_WORKER_NICE", "0")

# AppTest runs its scripts as ``__main__`` and leaves ``sys.modules["__main__"]`` pointing at
# one; a worker process started later would re-run that temporary script as its main module
# and die. Each test starts from pytest's own main module.
_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _pytest_main_module() -> Iterator[None]:
    sys.modules["__main__"] = _MAIN
    yield
    sys.modules["__main__"] = _MAIN


@pytest.fixture(autouse=True)
def _ctrl_c_left_as_found() -> Iterator[None]:
    """Every test leaves Ctrl-C as it found it. Code that takes SIGINT and returns without
    giving it back leaves its caller's Ctrl-C calling into a finished run (``cmd_train``
    did so when it refused a store), and a later test that sends a Ctrl-C sees nothing."""
    yield
    handler = signal.getsignal(signal.SIGINT)
    if handler is not signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        pytest.fail(f"the test left SIGINT handled by {handler!r}")


# One torch thread, as the trainer sets for its runs: with two threads on two busy cores,
# tiny convolutions run 50× slower, and model-only tests would depend on test order.
torch.set_num_threads(1)

FAKE_FASHION = "fake-fashion"

TINY = {
    "dataset": "digits",
    "train_size": 100,
    "width": 32,
    "depth": 1,
    "epochs": 3,
    "batch_size": 16,
}


def tiny_config(**changes: Any) -> RunConfig:
    """A validated config that trains in milliseconds: digits, 100 images, width 32."""
    return RunConfig.from_dict({**TINY, **changes})


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Runs set torch's (process-wide) thread count; put it back to 1 after each test."""
    yield
    torch.set_num_threads(1)


@pytest.fixture
def make_config() -> Callable[..., RunConfig]:
    return tiny_config


def _fake_fashion(data_dir: object = None) -> RawData:
    """200 random 12×12 'garments', 20 per class: a noisy patch of ink of random extent."""
    rng = np.random.default_rng(7)
    labels = np.repeat(np.arange(10), 20)
    rng.shuffle(labels)
    images = np.zeros((200, 12, 12), dtype=np.float32)
    for image in images:
        top, left = rng.integers(0, 6, size=2)
        bottom, right = rng.integers(7, 13, size=2)
        image[top:bottom, left:right] = rng.uniform(0.4, 1.0, size=(bottom - top, right - left))
    return RawData(images, labels.astype(np.int64))


@pytest.fixture
def fake_fashion(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Register a tiny dataset of the fashion family; return its name."""
    spec = DatasetSpec(
        FAKE_FASHION,
        FASHION_FAMILY,
        "test stand-in for Fashion-MNIST",
        200,
        40,
        40,
        True,
        _fake_fashion,
    )
    monkeypatch.setitem(DATASETS, FAKE_FASHION, spec)
    yield FAKE_FASHION
    for key in [k for k in data._cache if k[0] == FAKE_FASHION]:
        del data._cache[key]


@pytest.fixture
def fresh(tmp_path, monkeypatch) -> Iterator:
    """The page on a fresh store whose runs stay queued (no worker processes)."""
    import streamlit as st

    from tests.helpers.apptest import queue_only, use_store

    path = use_store(monkeypatch, tmp_path)
    queue_only(monkeypatch)
    yield path
    st.cache_resource.clear()

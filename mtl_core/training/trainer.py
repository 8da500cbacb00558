"""Training one run: ``train``, the entry point. The loop itself is in ``loop.py``.

``train`` builds the data, model, weighting and optimiser from a config, evaluates once
before any update (epoch 0), then trains epoch by epoch. After every epoch it evaluates
each task on its training pool and on the validation set (in eval mode, so the two are
comparable), commits the epoch to its sink (``sink.py``: the run store, the Ray relay or
an in-memory sink), and hands it to a callback. The test
set is touched only at the end: each main task is scored at its best validation epoch
and, for a completed run, once with its last epoch's weights (``final_test_*``).

An epoch's rows are ``(task, split, metric, value)``: ``loss`` and the task's metric on
``train`` and ``val``; ``weight`` (the weight each task trained with; for an aggregator,
its mean weight over the epoch's steps) and ``batch_loss``; ``_total``/``objective``;
with a shared trunk, ``_conflict``/``cos:a|b`` (see ``conflict.py``) and, unless turned
off, ``_affinity``/``aff:i>j`` (inter-task affinity, ``affinity.py``); with cross-stitch,
``_stitch``/``alpha:unit:to:from``; with several trunks, ``_model``/``trunk_distance``;
``_run``/``wall_time``, ``steps``, ``samples``. At the end, trunk features on validation
images are stored as arrays (see ``representation.py``).

An epoch's ``wall_time`` counts its training and its evaluation (epoch 0's: the untrained
network's evaluation). Time spent paused counts nowhere: ``wall_time``, the callback's
``elapsed`` and the summary's ``elapsed`` leave it out (the summary's ``paused`` holds
it), so a pause neither inflates the run's time nor the dashboard's estimate of the time
left.

The parts: ``problem.py`` (the data on its device, evaluation), ``loop.py`` (the epochs),
``ending.py`` (test scores, summary and stored features at the end), ``results.py``
(``RunResult``, ``EpochEvent``). Their names used elsewhere stay importable from here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mtl_core.config import RunConfig, validate
from mtl_core.data.splits import load_bundle
from mtl_core.errors import ConfigError, MtlError
from mtl_core.store.schema import Status
from mtl_core.training.control import RunControl
from mtl_core.training.loop import HEARTBEAT_EVERY, _build_model, _Loop
from mtl_core.training.problem import (
    EVAL_CHUNK,
    MISCLASSIFIED,
    _Problem,
    evaluate,
    mistakes,
    probe_slice,
)
from mtl_core.training.results import EpochEvent, RunResult
from mtl_core.training.sink import RunSink

__all__ = [  # re-exported: imported from here by the rest of mtl_core and the tests
    "EVAL_CHUNK",
    "HEARTBEAT_EVERY",
    "MISCLASSIFIED",
    "EpochEvent",
    "RunResult",
    "RunSink",
    "_Loop",
    "_Problem",
    "_build_model",
    "evaluate",
    "mistakes",
    "probe_slice",
    "resolve_device",
    "train",
]


def resolve_device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", "CUDA is not available on this machine; use --device cpu")
    return torch.device(name)


def train(
    config: RunConfig,
    *,
    store: RunSink | None = None,
    run_id: int | None = None,
    name: str = "",
    owner: str = "",
    callback: Callable[[EpochEvent], None] | None = None,
    control: RunControl | None = None,
    data_dir: str | None = None,
    sink: RunSink | None = None,
) -> RunResult:
    """Train one run, written to ``sink`` (any ``RunSink``; ``store`` is the same argument
    under its older name) when one is given. Config and data errors raise before a run is
    created; after that, every outcome (including a bug) is recorded in the sink as the
    run's status. Without ``run_id``, the sink creates the run (named ``name``)."""
    if sink is not None and store is not None:
        raise TypeError("train: give sink= or store= (the same argument), not both")
    sink = sink if sink is not None else store
    validate(config)
    device = resolve_device(config.device)
    bundle = load_bundle(config.dataset, config.variant, config.data_seed, data_dir)
    if sink is not None and run_id is None:
        run_id = sink.create_run(config.to_dict(), name=name, owner=owner)
    loop = None
    try:
        loop = _Loop(config, bundle, device, sink, run_id, callback, control or RunControl())
        return loop.run()
    except Exception as exc:
        message = str(exc) if isinstance(exc, MtlError) else f"internal error: {exc!r}"
        if loop is not None:
            result = loop.finish(Status.FAILED, message)
        else:
            if sink is not None:
                sink.finish(run_id, Status.FAILED, message, {}, {})
            result = RunResult(run_id, Status.FAILED, message, {})
        if isinstance(exc, MtlError):
            return result
        raise

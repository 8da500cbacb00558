"""What a run reports: ``EpochEvent`` (one finished epoch, to a callback) and ``RunResult``.

Kept apart from the loop, and free of torch, because every layer above training (the
batch helpers, the CLI, the execution backends) handles results without training
anything: importing these must not load torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mtl_core.store.schema import Row


@dataclass
class EpochEvent:
    """One finished epoch, as committed to the sink."""

    run_id: int | None
    epoch: int
    epochs: int  # planned
    rows: list[Row]
    elapsed: float  # seconds of training so far (time spent paused left out)
    steps: int  # optimiser steps so far


@dataclass
class RunResult:
    run_id: int | None
    status: str  # completed | stopped | diverged | failed
    message: str
    summary: dict
    rows: list[tuple[int, str, str, str, float]] = field(default_factory=list)

    def value(self, epoch: int, task: str, split: str, metric: str) -> float:
        for e, t, s, m, v in self.rows:
            if (e, t, s, m) == (epoch, task, split, metric):
                return v
        raise KeyError((epoch, task, split, metric))

    def curve(self, task: str, split: str, metric: str) -> list[float]:
        points = sorted((e, v) for e, t, s, m, v in self.rows if (t, s, m) == (task, split, metric))
        return [v for _, v in points]

"""Paired comparison of two arms over seeds, told in one sentence a student can check.

Each arm is a list of (config, summary) pairs. Runs are paired by (seed, data_seed): the
two runs of a pair saw the same data split, batch order and initial trunk, so the
difference within a pair is the effect of the setting, and the spread of those
differences is what the interval measures. The measure is the main task's test metric
at its validation-selected epoch (``summary["main"][task]["test_metric"]``): the test
set plays no part in choosing the epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mtl_core.analysis.stats import PairedDifference, paired_difference
from mtl_core.config import RunConfig
from mtl_core.data.tasks import get_task
from mtl_core.errors import ConfigError, MtlError
from mtl_core.written import bound

Arm = Sequence[tuple[RunConfig, dict]]


def pair_key(config: RunConfig) -> tuple[int, int]:
    return config.seed, config.data_seed


def _by_seed(arm: Arm, label: str, task: str) -> dict[tuple[int, int], float]:
    out: dict[tuple[int, int], float] = {}
    for config, summary in arm:
        key = pair_key(config)
        if key in out:
            raise MtlError(
                f"{label}: two runs with seed {key[0]}, data seed {key[1]}; "
                "each pair needs one run per arm"
            )
        main = (summary or {}).get("main", {})
        if task not in main:
            raise MtlError(
                f"{label}: the run with seed {key[0]}, data seed {key[1]} has no "
                f"test {task} result (did it fail?)"
            )
        out[key] = main[task]["test_metric"]
    return out


@dataclass(frozen=True)
class Comparison:
    """``a − b`` of the test metric, paired by seed; ``sentence()`` says it in words."""

    label_a: str
    label_b: str
    task: str
    metric: str
    train_size: int  # the main task's labelled training images
    pairs: tuple[tuple[int, int], ...]  # (seed, data_seed) of each pair
    a: tuple[float, ...]
    b: tuple[float, ...]
    diff: PairedDifference

    def sentence(self) -> str:
        """E.g. "With 300 training images, hard sharing raised digit test accuracy by 4.1
        points compared with single task, 95% CI 2.6 to 5.6 points (paired t-interval),
        over 5 paired seeds (paired t-test p = 0.002)." The interval is given for the
        change the verb names (for "lowered", how much lower)."""
        d = self.diff
        task = get_task(self.task)
        if task.is_classification:
            scale, unit, what = 100.0, " points", f"{self.task} test accuracy"
        else:  # the metric is already in the task's unit (see Task.metric_scale)
            scale, unit = 1.0, task.metric_unit
            what = f"the {self.task} test mean absolute error"
        if d.mean == 0:
            verb, low, high = "changed", d.low, d.high
        elif d.mean > 0:
            verb, low, high = "raised", d.low, d.high
        else:
            verb, low, high = "lowered", -d.high, -d.low
        text = (
            f"With {self.train_size:,} training images, {self.label_a} {verb} {what} by "
            f"{abs(d.mean) * scale:.{_digits(scale)}f}{unit} compared with {self.label_b}, "
            f"95% CI {bound(low * scale, _digits(scale))} to {bound(high * scale, _digits(scale))}"
            f"{unit} (paired t-interval), over {d.n} paired seeds (paired t-test "
            f"{_p(d.p_value)})"
        )
        if not d.excludes_zero:
            text += "; the interval includes zero, so these seeds show no clear difference"
        return text + "."


def _digits(scale: float) -> int:
    return 1 if scale >= 10 else 3


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def compare_arms(
    a: Arm,
    b: Arm,
    *,
    task: str | None = None,
    label_a: str = "multi-task",
    label_b: str = "single task",
) -> Comparison:
    """Pair the arms by (seed, data_seed) and compare the test metric of ``task``
    (default: arm a's first main task). Refuses unpaired runs and fewer than 2 pairs."""
    if not a or not b:
        raise ConfigError("k", "a paired comparison needs runs in both arms")
    task = task or a[0][0].tasks[0]
    by_a, by_b = _by_seed(a, label_a, task), _by_seed(b, label_b, task)
    if set(by_a) != set(by_b):
        only = sorted(set(by_a) ^ set(by_b))[0]
        side = label_a if only in by_a else label_b
        raise MtlError(
            f"unpaired run: seed {only[0]}, data seed {only[1]} is only in {side}; "
            "both arms need the same seeds"
        )
    pairs = sorted(by_a)
    if len(pairs) < 2:
        raise ConfigError(
            "k", f"a paired comparison needs at least 2 paired seeds, got {len(pairs)}"
        )
    xs, ys = [by_a[p] for p in pairs], [by_b[p] for p in pairs]
    return Comparison(
        label_a,
        label_b,
        task,
        get_task(task).metric,
        a[0][0].task_size(task),
        tuple(pairs),
        tuple(xs),
        tuple(ys),
        paired_difference(xs, ys),
    )

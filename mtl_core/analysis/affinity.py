"""Inter-task affinity in numbers and words: the store's name of an affinity row, the
matrix of a run's stored rows, and what the matrix says (``training/affinity.py``
measures it).

The affinity of task i onto task j (Fifty et al. 2021, "Efficiently Identifying Task
Groupings for Multi-Task Learning") is ``Z(i→j) = 1 − L_j(θ after a step on i alone) /
L_j(θ)``: positive when a step on i's gradient lowers j's loss, negative when it raises
it. It is asymmetric: i may help j while j hurts i. Torch-free, so the CLI and the
dashboard's server read stored affinities without torch; pandas is imported by the
functions that make frames, so the trainer (which needs only the names) does not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

PSEUDO_TASK = "_affinity"  # the store's task name of affinity rows (split ``train``)
PREFIX = "aff:"
NEGLIGIBLE = 1e-4  # |Z| below this is "no effect" in words


def affinity_metric(source: str, target: str) -> str:
    """The store's metric name of Z(source→target): ``aff:source>target``."""
    return f"{PREFIX}{source}>{target}"


def parse_affinity(metric: str) -> tuple[str, str]:
    """(source, target) of a metric named by ``affinity_metric``."""
    source, _, target = metric.removeprefix(PREFIX).partition(">")
    return source, target


def affinity_frames(frame: pd.DataFrame, tasks: list[str]) -> dict[int, pd.DataFrame]:
    """Per trained epoch, the matrix of that epoch's mean affinities: rows are the source
    (whose step), columns the target (whose loss), both in ``tasks``' order; a pair the
    epoch could not measure (its loss was already near 0) is NaN."""
    import pandas as pd

    rows = frame[(frame.task == PSEUDO_TASK) & frame.metric.str.startswith(PREFIX)]
    out: dict[int, pd.DataFrame] = {}
    for epoch, part in rows.groupby("epoch"):
        matrix = pd.DataFrame(float("nan"), index=list(tasks), columns=list(tasks))
        for metric, value in zip(part.metric, part.value, strict=True):
            source, target = parse_affinity(metric)
            if source in matrix.index and target in matrix.columns:
                matrix.loc[source, target] = float(value)
        out[int(epoch)] = matrix
    return out


def mean_affinity(frame: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """The matrix averaged over the trained epochs (each epoch counts once; an epoch
    that could not measure a pair is left out of that pair's mean). Empty when the run
    recorded no affinity."""
    import pandas as pd

    frames = affinity_frames(frame, tasks)
    if not frames:
        return pd.DataFrame()
    stacked = pd.concat(frames.values(), keys=list(frames))
    return stacked.groupby(level=1, sort=False).mean().reindex(index=tasks, columns=tasks)


def evolution(frame: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """The off-diagonal affinities over the epochs: index epoch, one column per ordered
    pair named ``source → target``, in the tasks' order."""
    import pandas as pd

    frames = affinity_frames(frame, tasks)
    pairs = [(s, t) for s in tasks for t in tasks if s != t]
    data = {f"{s} → {t}": [frames[e].loc[s, t] for e in frames] for s, t in pairs}
    return pd.DataFrame(data, index=pd.Index(list(frames), name="epoch"))


def _listing(names: list[str]) -> str:
    """a, b and c"""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def affinity_sentences(matrix: pd.DataFrame, mains: list[str]) -> list[str]:
    """Plain words for each main task: whose steps lower its loss and whose raise it,
    strongest first, e.g. "parity's steps lower digit's loss (Z = +0.02); bbox's steps
    raise it (Z = −0.01)."."""
    lines = []
    for target in mains:
        if target not in matrix.columns:
            continue
        received = matrix[target].drop(index=target, errors="ignore").dropna()
        helps = received[received >= NEGLIGIBLE].sort_values(ascending=False)
        hurts = received[received <= -NEGLIGIBLE].sort_values()
        neutral = received[received.abs() < NEGLIGIBLE]
        parts, subject = [], f"{target}'s loss"
        for chosen, verb in ((helps, "lower"), (hurts, "raise")):
            if len(chosen):
                names = _listing([f"{s}'s (Z = {v:+.3g})" for s, v in chosen.items()])
                parts.append(f"{names} steps {verb} {subject}")
                subject = "it"
        if len(neutral):
            names = _listing([f"{s}'s" for s in neutral.index])
            parts.append(f"{names} steps leave {subject} about unchanged")
        if parts:
            lines.append("; ".join(parts) + ".")
    return lines

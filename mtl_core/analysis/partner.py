"""Which partner a joint network's inter-task affinity picks, seed by seed, in one sentence.

Why: the lesson "Which tasks should share?" trains a task with each candidate partner and
asks whether the affinity measured in one joint network (every candidate beside the task)
would have picked the better one. The verdict says which partner won; this says, on the
same seeds, which partner the affinity ranked first and on how many of them, so the page
puts the prediction beside the outcome instead of quoting the tuning runs only.
Torch-free: read from the stored rows (``analysis/affinity.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mtl_core.analysis.affinity import mean_affinity


@dataclass(frozen=True)
class PartnerRanking:
    target: str  # whose loss the partners' steps are measured on
    means: dict[str, float]  # each candidate's mean affinity onto the target, best first
    firsts: int  # seeds on which the best-ranked candidate was also ranked first
    seeds: int  # seeds whose run recorded affinity

    @property
    def best(self) -> str:
        return next(iter(self.means))

    def sentence(self) -> str:
        best, *others = self.means
        rest = "; ".join(f"{o} {self.means[o]:+.4f}" for o in others)
        return (
            f"Affinity in the all-in-one network, on these seeds (how much a training step on "
            f"a task lowered the {self.target} task's loss): **{best}** ranked first on "
            f"{self.firsts} of {self.seeds} seeds (mean {self.means[best]:+.4f}; {rest}). "
            "That is the partner it suggests; the verdict above says whether training with "
            "it won."
        )


def partner_ranking(
    metrics: pd.DataFrame, run_ids: list[int], target: str, candidates: list[str]
) -> PartnerRanking | None:
    """The candidates ranked by their mean affinity onto ``target`` over the runs (each
    run's affinity averaged over its epochs first); None when no run recorded any."""
    per_run = []
    for run_id in run_ids:
        frame = metrics[metrics.run_id == run_id]
        matrix = mean_affinity(frame, [target, *candidates])
        if matrix.empty:
            continue
        onto = matrix[target].reindex(candidates)
        if onto.notna().all():
            per_run.append(onto)
    if not per_run:
        return None
    table = pd.DataFrame(per_run)
    means = table.mean().sort_values(ascending=False)
    best = str(means.index[0])
    firsts = int((table.idxmax(axis=1) == best).sum())
    return PartnerRanking(
        target, {str(k): float(v) for k, v in means.items()}, firsts, len(per_run)
    )

"""Which partner the joint network's affinity picks, seed by seed (analysis/partner.py).

Hand-made stored rows: three runs (seeds) whose affinity onto the digit's loss favours
magnitude on two seeds and bbox on one. The ranking orders the partners by their mean over
the runs (each run's epochs averaged first), counts the seeds on which the best one was
first, and says nothing when no run recorded affinity.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mtl_core.analysis.affinity import PSEUDO_TASK, affinity_metric
from mtl_core.analysis.partner import partner_ranking

# run id -> (magnitude onto digit, bbox onto digit) at epochs 1 and 2
ONTO_DIGIT = {
    1: ((0.010, 0.006), (0.002, 0.000)),
    2: ((0.004, 0.008), (0.003, 0.001)),
    3: ((0.001, 0.001), (0.005, 0.009)),
}


def rows() -> pd.DataFrame:
    out = []
    for run_id, pairs in ONTO_DIGIT.items():
        for source, values in zip(("magnitude", "bbox"), pairs, strict=True):
            for epoch, value in enumerate(values, start=1):
                metric = affinity_metric(source, "digit")
                out.append((run_id, epoch, PSEUDO_TASK, "train", metric, value))
        out.append((run_id, 1, "digit", "val", "loss", 1.0))  # other rows are ignored
    return pd.DataFrame(out, columns=["run_id", "epoch", "task", "split", "metric", "value"])


def test_partners_rank_by_their_mean_affinity_and_count_the_seeds_that_agree():
    ranking = partner_ranking(rows(), [1, 2, 3], "digit", ["bbox", "magnitude"])
    # per-run means: magnitude 0.008, 0.006, 0.001; bbox 0.001, 0.002, 0.007
    assert ranking.best == "magnitude"
    assert ranking.means == pytest.approx({"magnitude": 0.015 / 3, "bbox": 0.010 / 3})
    assert list(ranking.means) == ["magnitude", "bbox"]
    assert (ranking.firsts, ranking.seeds) == (2, 3)
    sentence = ranking.sentence()
    assert "**magnitude** ranked first" in sentence and "2 of 3 seeds" in sentence
    assert "(mean +0.0050; bbox +0.0033)" in sentence


def test_only_the_runs_asked_for_count():
    ranking = partner_ranking(rows(), [3], "digit", ["magnitude", "bbox"])
    assert ranking.best == "bbox" and (ranking.firsts, ranking.seeds) == (1, 1)


def test_no_recorded_affinity_gives_no_ranking():
    frame = rows()
    assert partner_ranking(frame[frame.task != PSEUDO_TASK], [1, 2, 3], "digit", ["bbox"]) is None

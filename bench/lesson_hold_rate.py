"""Benchmark: how often each lesson's claims hold on a draw of K seeds.

A lesson runs K fresh seeds (default 5) and names each claim "held", "did not hold" or
"unclear" (``mtl_core.studies.lessons.verdicts``). A class should see the claim hold on
most draws, so the default K is judged by the share of draws on which it holds.
Fresh draws cost training; this estimates that share from ten seeds instead: every
claimed arm of a lesson is trained once on each of the held-out seeds 100-109 (paired,
``seed = data_seed`` in every arm, as ``lesson_configs`` builds them; no preset setting
was chosen on these seeds), and then every K-subset of those ten seeds (252 at K = 5) is
judged with the page's own functions, ``lesson_results`` and ``verdicts`` (Holm's
correction included). The subsets share seeds, so they are not independent draws: the
shares are an estimate of the fresh-draw rate, not a measurement of it.

Runs go to a store under ``bench/out/`` and an identical completed run is reused
(``train_or_reuse``), so an interrupted benchmark resumes and lessons that share arms
(Sharing helps, Where to branch, Just regularisation?) train them once. Heavy: run it
niced, at most two runs at once (``--workers``).

    nice -n 10 .venv/bin/python bench/lesson_hold_rate.py [--lesson SLUG ...] [--k K]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mtl_core.execution.identity import train_or_reuse  # noqa: E402
from mtl_core.store.runs import RunStore  # noqa: E402
from mtl_core.store.schema import Status  # noqa: E402
from mtl_core.studies.claims import ArmResult  # noqa: E402
from mtl_core.studies.lessons import (  # noqa: E402
    LESSONS,
    OUTCOMES,
    lesson_configs,
    lesson_results,
    verdicts,
)
from mtl_core.studies.presets import claimed_arms  # noqa: E402

HELD_OUT = tuple(range(100, 110))  # the seeds of the docs' held-out numbers
STORE = ROOT / "bench" / "out" / "lesson_hold_rate.sqlite"
# The lessons whose claims are quickest to check first; the rest after them.
ORDER = ("sharing-helps", "overfitting", "early-stopping")


def train(slug: str, seeds: tuple[int, ...], workers: int) -> dict[str, list[int]]:
    """Train (or reuse) the lesson's claimed arms on ``seeds``: arm -> run ids by seed."""
    lesson = LESSONS[slug]
    arms = claimed_arms(lesson.preset)
    by_arm = lesson_configs(lesson, seeds)
    jobs = [(arm, config) for arm in arms for config in by_arm[arm]]
    names = [f"{lesson.title} · {arm} · seed {c.seed}" for arm, c in jobs]
    results, reused = train_or_reuse(
        [c for _, c in jobs],
        [True] * len(jobs),
        workers=workers,
        store_path=str(STORE),
        names=names,
    )
    failed = [n for n, r in zip(names, results, strict=True) if r.status != Status.COMPLETED]
    if failed:
        raise SystemExit(f"{slug}: {len(failed)} runs did not complete, e.g. {failed[0]}")
    print(
        f"  {len(jobs)} runs: {len(reused)} reused from the store, {len(jobs) - len(reused)} trained"
    )
    ids: dict[str, list[int]] = {arm: [] for arm in arms}
    for (arm, _), result in zip(jobs, results, strict=True):
        ids[arm].append(result.run_id)
    return ids


def subset(results: dict[str, ArmResult], seeds: tuple[int, ...]) -> dict[str, ArmResult]:
    """The arms' results on ``seeds`` only, in the same order (lesson_results sorts by seed)."""
    out = {}
    for arm, result in results.items():
        keep = [i for i, s in enumerate(result.seeds) if s in seeds]
        out[arm] = ArmResult(
            [result.summaries[i] for i in keep],
            [result.val_curves[i] for i in keep],
            [result.seeds[i] for i in keep],
        )
    return out


def rates(slug: str, ids: dict[str, list[int]], k: int) -> list[tuple[str, dict[str, int], str]]:
    """Per claim: the count of each outcome over every k-subset of the seeds, and the
    outcome on all of them."""
    lesson = LESSONS[slug]
    with RunStore(STORE) as store:
        results = lesson_results(store, lesson, ids)
    seeds = tuple(sorted(next(iter(results.values())).seeds))
    counts = [dict.fromkeys(OUTCOMES, 0) for _ in lesson.preset.claims]
    for draw in itertools.combinations(seeds, k):
        for n, verdict in enumerate(verdicts(lesson, subset(results, draw))):
            counts[n][verdict.outcome] += 1
    on_all = [v.outcome for v in verdicts(lesson, results)]
    return [
        (claim.text, c, whole)
        for claim, c, whole in zip(lesson.preset.claims, counts, on_all, strict=True)
    ]


def share(count: int, draws: int) -> str:
    """``"250 of 252 (99.2%)"``: the count beside the share, so 99.6% never reads as 100%."""
    return f"{count} of {draws} ({100 * count / draws:.1f}%)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", action="append", choices=sorted(LESSONS))
    parser.add_argument("--k", type=int, help="seeds per draw (default: each lesson's own)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    slugs = args.lesson or list(ORDER) + [s for s in LESSONS if s not in ORDER]
    STORE.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"seeds {HELD_OUT[0]}-{HELD_OUT[-1]}; store {STORE.relative_to(ROOT)}; "
        f"{args.workers} workers; niceness {os.nice(0)}"
    )
    print(
        "Subsets of 10 seeds share seeds: they are not independent draws, so each share "
        "below estimates the rate on fresh draws."
    )
    rows = []
    for slug in slugs:
        lesson = LESSONS[slug]
        k = args.k or lesson.default_seeds
        tic = time.monotonic()
        print(f"\n## {slug} (K = {k}; load average {os.getloadavg()[0]:.1f})", flush=True)
        ids = train(slug, HELD_OUT, args.workers)
        draws = len(list(itertools.combinations(HELD_OUT, k)))
        for text, counts, whole in rates(slug, ids, k):
            shares = ", ".join(f"{o} {share(counts[o], draws)}" for o in OUTCOMES)
            print(f"  {text}: {shares}; on all 10 seeds: {whole}")
            rows.append((slug, k, text, counts, draws))
        print(
            f"  ({time.monotonic() - tic:.0f} s; load average {os.getloadavg()[0]:.1f})", flush=True
        )
    print("\n| lesson | K | claim | held | did not hold | unclear |\n|---|---|---|---|---|---|")
    for slug, k, text, counts, draws in rows:
        cells = " | ".join(share(counts[o], draws) for o in OUTCOMES)
        print(f"| `?lesson={slug}` | {k} | {text} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

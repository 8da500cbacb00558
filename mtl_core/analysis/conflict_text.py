"""Gradient conflict in words: the store's name of a pair's cosine, and what a pair's
cosines over the epochs say (mtl_core/training/conflict.py measures them).

Torch-free: the CLI and the dashboard's server read stored cosines without torch.
"""

from __future__ import annotations


def pair_metric(a: str, b: str) -> str:
    """The store's metric name of a pair's cosine (row task ``_conflict``)."""
    return f"cos:{a}|{b}"


def parse_pair(metric: str) -> tuple[str, str]:
    a, _, b = metric.removeprefix("cos:").partition("|")
    return a, b


def conflict_sentences(cosines: dict[tuple[str, str], list[float]], epochs: list[int]) -> list[str]:
    """Plain words for each pair: how often its gradients conflict over the training epochs
    (epoch 0, before any update, is not counted), graded by how often (rarely: in under a
    quarter of them; sometimes: under half; often) and how strongly (a negative mean)."""
    lines = []
    for (a, b), values in cosines.items():
        trained = [(e, v) for e, v in zip(epochs, values, strict=True) if e > 0]
        if not trained:
            continue
        bad = [e for e, v in trained if v < 0]
        mean = sum(v for _, v in trained) / len(trained)
        counted = f"{len(bad)} of {len(trained)} training epochs"
        if not bad:
            lines.append(
                f"{a} and {b} never conflict: their gradients on the shared trunk "
                f"agree in every training epoch (mean cosine {mean:+.2f})."
            )
        elif mean < 0:
            lines.append(
                f"{a} and {b} conflict: negative cosine in {counted} (mean "
                f"{mean:+.2f}): a step that lowers one loss tends to raise the other."
            )
        elif len(bad) < 0.25 * len(trained):
            lines.append(
                f"{a} and {b} rarely conflict: negative cosine in {counted} "
                f"(first at epoch {bad[0]}; mean {mean:+.2f})."
            )
        else:
            often = "often" if len(bad) >= 0.5 * len(trained) else "sometimes"
            lines.append(
                f"{a} and {b} {often} conflict: negative cosine in {counted} (first at "
                f"epoch {bad[0]}), though on average they agree (mean {mean:+.2f})."
            )
    return lines

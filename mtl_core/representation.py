"""The shared representation: trunk outputs on validation images, and their 2-D maps.

The trainer stores, for the best and the latest epoch, each trunk's features on the
first ``SAMPLES`` validation images (and those images' labels), so the dashboard and
the CLI can draw a PCA map, or a t-SNE map on request, without keeping checkpoints.
"""

from __future__ import annotations

import numpy as np
import torch

SAMPLES = 500
METHODS = ("pca", "tsne")


@torch.inference_mode()
def trunk_features(model, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Features of ``x`` from every trunk (or cross-stitch column), keyed by trunk name."""
    model.eval()
    out: dict[str, np.ndarray] = {}
    for key in dict.fromkeys(model.trunk_of.values()):
        feats = model.features(x, key)
        if isinstance(feats, dict):  # cross-stitch: one column per task
            out.update({t: f.cpu().numpy() for t, f in feats.items()})
        else:
            out[key] = feats.cpu().numpy()
    return out


def project(features: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """A 2-D map of the rows of ``features``: PCA (fast, linear) or t-SNE (slow, local)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; use pca or tsne")
    features = np.asarray(features, dtype=np.float64)
    if len(features) < 3 or features.shape[1] < 2:
        return np.zeros((len(features), 2))
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(features)
    perplexity = min(30.0, (len(features) - 1) / 3)
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    # One BLAS/OpenMP thread: on a shared 2-core server several threads made t-SNE of
    # 500 points take 20-37 s instead of 1-2 s (they fight the training workers).
    with threadpool_limits(1):
        return tsne.fit_transform(features)

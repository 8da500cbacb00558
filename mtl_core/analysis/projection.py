"""2-D maps of stored features: PCA (fast, linear) or t-SNE (slow, local).

Torch-free and with scikit-learn imported only when a map is drawn: the CLI calls
``project`` in-process, the dashboard in its helper process (``mtl_core.execution.offload``)
so that its server never loads scikit-learn.
"""

from __future__ import annotations

import numpy as np

METHODS = ("pca", "tsne")


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

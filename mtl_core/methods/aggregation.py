"""Gradient aggregation on the shared trunk, through torchjd (Jacobian descent).

Instead of back-propagating one weighted sum of losses, ``mtl_backward`` computes each
task's gradient on the shared parameters (one row of a Jacobian) and an aggregator
turns the rows into one update: MGDA (Désidéri 2012; Sener & Koltun 2018), PCGrad (Yu
et al. 2020), UPGrad (Quinton & Rey 2024), CAGrad (Liu et al. 2021), Nash-MTL (Navon et
al. 2022), Aligned-MTL (Senushkin et al. 2023), IMTL-G (Liu et al. 2021), GradVac (Wang
et al. 2021), GradDrop (Chen et al. 2020), DualProj (Lopez-Paz & Ranzato 2017; Quinton &
Rey 2024), FairGrad (Ban & Ji 2024), ConFIG (Liu et al. 2024), ExcessMTL (He et al. 2024)
and random gradient weighting (Lin et al. 2021). Heads get their own task's gradient as
usual. Fixed weights scale the losses (the rows) first.

Each aggregator is declared in ``methods/catalog.py`` (name, help, paper, hyperparameters);
its builder here takes the number of tasks and the declared hyperparameters by their
``arg`` names. Which of torchjd's aggregators are left out, and why: docs/methods.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torchjd.aggregation import (
    IMTLG,
    MGDA,
    Aggregator,
    AlignedMTL,
    CAGrad,
    ConFIG,
    DualProj,
    ExcessMTL,
    FairGrad,
    GradDrop,
    GradVac,
    NashMTL,
    PCGrad,
    Random,
    UPGrad,
)
from torchjd.autojac import jac_to_grad, mtl_backward

from mtl_core.errors import MtlError
from mtl_core.methods import catalog

# name -> builder(n_tasks, **declared hyperparameters); the names are catalog.AGGREGATORS',
# whose declarations hold the hyperparameters' defaults (build_aggregator fills them in).
AGGREGATORS: dict[str, Callable[..., Aggregator]] = {
    "mgda": lambda n: MGDA(),
    "pcgrad": lambda n: PCGrad(),
    "upgrad": lambda n: UPGrad(),
    "cagrad": lambda n, *, c: CAGrad(c=c),
    # Nash-MTL solves its bargaining problem with cvxpy's ECOS solver (requirements.txt).
    "nashmtl": lambda n, *, max_norm: NashMTL(n_tasks=n, max_norm=max_norm),
    "alignedmtl": lambda n: AlignedMTL(),
    "imtlg": lambda n: IMTLG(),
    "gradvac": lambda n, *, beta: GradVac(beta=beta),
    "graddrop": lambda n: GradDrop(),
    "dualproj": lambda n: DualProj(),
    "fairgrad": lambda n, *, alpha: FairGrad(alpha=alpha),
    "config": lambda n: ConFIG(),
    "excessmtl": lambda n, *, robust_step_size: ExcessMTL(robust_step_size=robust_step_size),
    "rgw": lambda n: Random(),
}


def build_aggregator(name: str, n_tasks: int = 2, **params: float) -> Aggregator | None:
    """The aggregator ``name`` for ``n_tasks`` rows, with its declared hyperparameters
    (keyword arguments named by each ``Param.arg`` in catalog.py; one not given takes its
    declared default). A solver torchjd needs but cannot find is refused in one line, with
    the fix."""
    if name == "none":
        return None
    declared = {param.arg: param.default for param in catalog.AGGREGATORS[name].params}
    try:
        return AGGREGATORS[name](n_tasks, **(declared | params))
    except ImportError as exc:  # torchjd checks its optional solvers when it is built
        raise MtlError(
            f"aggregator {name} needs a solver that is not installed ({exc}); install the "
            "pinned versions: pip install -r requirements.txt"
        ) from exc


def aggregated_backward(
    losses: Sequence[torch.Tensor],
    features: Sequence[torch.Tensor],
    heads: Sequence[Sequence[torch.Tensor]],
    shared: Sequence[torch.Tensor],
    aggregator: Aggregator,
) -> torch.Tensor | None:
    """Fill ``.grad`` of the heads (their own task's gradient) and of the shared
    parameters (the aggregated Jacobian). Returns the weights the aggregator gave the
    rows, or None for an aggregator that is not a weighting of the rows (GradDrop,
    ConFIG: catalog.py declares them with ``reports_weights=False``)."""
    mtl_backward(
        list(losses),
        features=list(features),
        tasks_params=[list(h) for h in heads],
        shared_params=list(shared),
    )
    return jac_to_grad(list(shared), aggregator)

"""Every method a run can use, declared once: its name, one line of help, its paper, and
its hyperparameters with their default and allowed range.

Sharing modes, backbones, soft penalties, loss weightings, gradient aggregators and
optimisers are declared here as data (the scikit-learn habit of constraints as data), and
everything else is derived from these declarations: config validation
(``mtl_core.config``), the CLI's choices, flags and help (``mtl_core.cli``), the sidebar's
options, captions and number inputs (``mtl_core.dashboard.widgets.controls``), and the
property tests' generators. The implementations (``methods.weighting``,
``methods.aggregation``, ``models.sharing``, ...) are keyed by the same names, and a test
checks that the two agree.

No torch here: the dashboard's server process checks configs and draws the controls
without it. Each hyperparameter's declaration holds its ``RunConfig`` field's default, so
the config gains the field from it (``mtl_core.config``). A loss weighting is declared in
its own module, beside its implementation (``methods/weightings/``); the other kinds here,
their implementations elsewhere (docs/extending.md).
"""

from __future__ import annotations

from pathlib import Path

from mtl_core.methods.declarations import Method, Param, declared_in, table_of

SHARING = table_of(
    Method("single", "a network per task"),
    Method(
        "hard",
        "one shared trunk, a head per task",
        "Caruana 1997",
        (
            Param(
                "shared_layers",
                "shared layers",
                -1,
                10,
                1,
                "the first K layers are shared, then a branch per task (the cnn's two "
                "conv blocks count); all (-1) shares every layer, 0 none (single-task)",
                named=((-1, "all"),),
                default=-1,
            ),
        ),
    ),
    Method(
        "soft",
        "a trunk per task, tied by a penalty",
        "Duong et al. 2015; Yang & Hospedales 2017",
        (
            Param(
                "soft_lambda",
                "λ",
                0.0,
                1e6,
                0.1,
                "strength of the tie; for l2 about 1,000 to 10,000 does something, "
                "0 is single-task",
                default=1000.0,
            ),
        ),
    ),
    Method(
        "cross-stitch",
        "a trunk per task, mixed by learned weights",
        "Misra et al. 2016",
        (
            Param(
                "stitch_init",
                "stitch init",
                0.0,
                1.0,
                0.05,
                "a column's initial weight on itself; 1 starts as single-task",
                default=0.9,
            ),
            Param(
                "stitch_lr",
                "stitch lr ×",
                0.0,
                1000.0,
                1.0,
                "learning rate of the mixing weights, as a multiple of lr; 0 freezes them",
                default=10.0,
            ),
        ),
    ),
)

PENALTIES = table_of(
    Method("l2", "pulls the trunks together", "Duong et al. 2015"),
    Method("trace", "pushes the trunks to a shared low-rank structure", "Yang & Hospedales 2017"),
)

BACKBONES = table_of(
    Method("mlp", "dense layers"),
    Method("cnn", "two convolution blocks, then dense layers"),
    Method(
        "maxout",
        "dense layers of maxout units",
        "Goodfellow et al. 2013",
        (
            Param(
                "pieces",
                "maxout pieces",
                2,
                8,
                1,
                "linear pieces per unit; each unit outputs the largest",
                default=2,
            ),
        ),
    ),
)

# One module per weighting, each declaring its METHOD beside its implementation: read, not
# imported (declarations.py says why).
WEIGHTINGS = declared_in(Path(__file__).parent / "weightings")

AGGREGATORS = table_of(
    Method("none", "plain weighted sum"),
    Method("mgda", "the smallest common step", "Sener & Koltun 2018"),
    Method("pcgrad", "project conflicting gradients", "Yu et al. 2020"),
    Method("upgrad", "no task's loss goes up", "Quinton & Rey 2024"),
    Method(
        "cagrad",
        "mean, but help the worst task",
        "Liu et al. 2021",
        (
            Param(
                "cagrad_c",
                "CAGrad c",
                0.0,
                10.0,
                0.1,
                "how far the update may leave the mean gradient to help the worst task",
                "c",
                default=0.5,
            ),
        ),
    ),
    Method(
        "nashmtl",
        "a bargaining solution between the tasks",
        "Navon et al. 2022",
        (
            Param(
                "nash_max_norm",
                "Nash-MTL max norm",
                0.0,
                100.0,
                0.5,
                "the update's norm is clipped to this; 0 turns the clipping off",
                "max_norm",
                default=1.0,
            ),
        ),
    ),
    Method("alignedmtl", "align the gradients' principal components", "Senushkin et al. 2023"),
    Method("imtlg", "equal projection on every task gradient", "Liu et al. 2021"),
    Method(
        "gradvac",
        "raise similarity towards its running target",
        "Wang et al. 2021",
        (
            Param(
                "gradvac_beta",
                "GradVac β",
                0.0,
                1.0,
                0.01,
                "how fast the target cosine similarity follows the observed one",
                "beta",
                default=0.5,
            ),
        ),
    ),
    Method(
        "graddrop",
        "drop conflicting signs at random",
        "Chen et al. 2020",
        reports_weights=False,
    ),
    Method("dualproj", "the mean, projected to help every task", "Lopez-Paz & Ranzato 2017"),
    Method(
        "fairgrad",
        "α-fair sharing of the improvement",
        "Ban & Ji 2024",
        (
            Param(
                "fairgrad_alpha",
                "FairGrad α",
                0.0,
                10.0,
                0.1,
                "0: the mean gradient; 1: proportional fairness; larger: closer to max-min",
                "alpha",
                default=1.0,
            ),
        ),
    ),
    Method(
        "config",
        "a conflict-free direction",
        "Liu et al. 2024",
        reports_weights=False,
    ),
    Method(
        "excessmtl",
        "more weight to tasks with more excess risk",
        "He et al. 2024",
        (
            Param(
                "excess_step",
                "ExcessMTL step",
                0.001,
                100.0,
                0.1,
                "step size of the exponentiated update of the weights",
                "robust_step_size",
                default=1.0,
            ),
        ),
    ),
    Method("rgw", "random gradient weights each step", "Lin et al. 2021"),
)

OPTIMIZERS = table_of(
    Method("adam", "adaptive steps", "Kingma & Ba 2015"),
    Method(
        "sgd",
        "plain steps, with momentum",
        params=(
            Param(
                "momentum",
                "momentum",
                0.0,
                1.0,
                0.05,
                "how much of the last step each step keeps; 0 is plain gradient descent",
                "momentum",
                high_open=True,
                default=0.9,
            ),
        ),
    ),
)

# Each kind of method: the config field that names it, and its declarations.
KINDS: dict[str, dict[str, Method]] = {
    "sharing": SHARING,
    "soft_penalty": PENALTIES,
    "backbone": BACKBONES,
    "weighting": WEIGHTINGS,
    "aggregator": AGGREGATORS,
    "optimizer": OPTIMIZERS,
}


def params() -> list[Param]:
    """Every declared hyperparameter, once."""
    return [p for table in KINDS.values() for m in table.values() for p in m.params]


def choices_help(kind: str) -> str:
    """``a | b | c``: the CLI help's list of a kind's names."""
    return " | ".join(KINDS[kind])

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
without it. Adding a method is one declaration here plus its implementation and test
(docs/extending.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """A hyperparameter: a ``RunConfig`` field, its range and how it is shown."""

    field: str  # the RunConfig field (and, with dashes, the CLI flag)
    label: str  # the sidebar's label
    low: float
    high: float
    step: float
    help: str
    arg: str = ""  # the implementation's keyword argument, if it takes one

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")


@dataclass(frozen=True)
class Method:
    name: str
    help: str  # a few words, shown beside the name in menus
    paper: str = ""  # author(s) and year, e.g. "Kendall et al. 2018"
    params: tuple[Param, ...] = ()
    caption: str = ""  # what its panel in Insights shows (weightings: the weight lines)

    def describe(self) -> str:
        """``name — help (paper)`` for menus and CLI help."""
        paper = f" ({self.paper})" if self.paper else ""
        return f"{self.name} — {self.help}{paper}"


def _table(*methods: Method) -> dict[str, Method]:
    return {m.name: m for m in methods}


SHARING = _table(
    Method("single", "a network per task"),
    Method("hard", "one shared trunk, a head per task", "Caruana 1997"),
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
            ),
            Param(
                "stitch_lr",
                "stitch lr ×",
                0.0,
                1000.0,
                1.0,
                "learning rate of the mixing weights, as a multiple of lr; 0 freezes them",
            ),
        ),
    ),
)

PENALTIES = _table(
    Method("l2", "pulls the trunks together", "Duong et al. 2015"),
    Method("trace", "pushes the trunks to a shared low-rank structure", "Yang & Hospedales 2017"),
)

BACKBONES = _table(
    Method("mlp", "dense layers"),
    Method("cnn", "two convolution blocks, then dense layers"),
)

WEIGHTINGS = _table(
    Method(
        "fixed",
        "main tasks weigh 1, auxiliary tasks their set weight",
        caption="The weight each task's loss is multiplied by: fixed weighting keeps the "
        "values you set (main tasks 1), so the lines stay flat.",
    ),
    Method(
        "equal",
        "every task weighs 1",
        caption="The weight each task's loss is multiplied by: equal weighting keeps every "
        "task at 1, so the lines stay flat.",
    ),
    Method(
        "uncertainty",
        "learned",
        "Kendall et al. 2018",
        caption="Learned weights ½·exp(−s): a task whose loss stays high or noisy is "
        "trusted less, so its weight falls.",
    ),
    Method(
        "dwa",
        "slow tasks weigh more",
        "Liu et al. 2019",
        (
            Param(
                "dwa_temperature",
                "DWA temperature",
                0.01,
                100.0,
                0.5,
                "higher: weights closer to equal; lower: the slowest task takes more",
                "temperature",
            ),
        ),
        caption="DWA gives more weight to tasks whose training loss fell least over the "
        "last epoch; the first two epochs weigh 1.",
    ),
    Method(
        "gradnorm",
        "balanced gradient norms",
        "Chen et al. 2018",
        (
            Param(
                "gradnorm_alpha",
                "GradNorm α",
                0.0,
                10.0,
                0.25,
                "how hard lagging tasks are pushed; 0 equalises gradient norms",
                "alpha",
            ),
        ),
        caption="GradNorm moves weight to tasks that train slower than the others, so that "
        "their gradients on the trunk grow; the weights sum to the number of tasks.",
    ),
    Method(
        "rlw",
        "random weights each step",
        "Lin et al. 2021",
        caption="RLW draws new weights softmax(z), z ~ N(0, 1), at every step; the lines show "
        "each epoch's mean, which stays near 1 / (number of tasks).",
    ),
    Method(
        "si",
        "scale-invariant: the sum of log losses",
        "Navon et al. 2022",
        caption="Minimising Σ log L weighs each task by 1 / L (the epoch's mean is shown): a "
        "task whose loss is small weighs more, whatever the scale of its loss.",
    ),
)

AGGREGATORS = _table(
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
            ),
        ),
    ),
)

OPTIMIZERS = _table(
    Method("adam", "adaptive steps", "Kingma & Ba 2015"),
    Method("sgd", "plain steps, with momentum"),
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

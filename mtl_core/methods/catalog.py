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
    named: tuple[tuple[int, str], ...] = ()  # whole values shown by a word (-1 -> "all")
    high_open: bool = False  # ``high`` itself is refused (momentum: 0 <= m < 1)

    def show(self, value: float) -> str:
        """How the sidebar shows ``value``: its name if it has one."""
        return dict(self.named).get(value, f"{value:g}")

    def holds(self, value: float) -> bool:
        """Whether ``value`` is in the declared range (config validation asks this)."""
        below = value < self.high if self.high_open else value <= self.high
        return self.low <= value and below

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
    # Aggregators: False when it builds the update without weighting the task gradients
    # (GradDrop, ConFIG), so there are no task weights for Insights to draw.
    reports_weights: bool = True

    def describe(self) -> str:
        """``name — help (paper)`` for menus and CLI help."""
        paper = f" ({self.paper})" if self.paper else ""
        return f"{self.name} — {self.help}{paper}"


def _table(*methods: Method) -> dict[str, Method]:
    return {m.name: m for m in methods}


SHARING = _table(
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
            ),
        ),
    ),
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
    Method(
        "famo",
        "learned from which loss fell least",
        "Liu et al. 2023",
        (
            Param(
                "famo_lr",
                "FAMO lr",
                0.0,
                1.0,
                0.005,
                "learning rate of the logits of the weights; 0 keeps them equal",
                "lr",
            ),
            Param(
                "famo_decay",
                "FAMO decay γ",
                0.0,
                1.0,
                0.005,
                "weight decay of the logits: pulls the weights back towards equal",
                "decay",
            ),
        ),
        caption="FAMO's weights softmax(ξ) at the epoch's end: after each step, a task whose "
        "log-loss fell less than the others' gains weight. The model minimises Σ w log L, "
        "so each loss is also divided by its size.",
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
            ),
        ),
    ),
    Method("rgw", "random gradient weights each step", "Lin et al. 2021"),
)

OPTIMIZERS = _table(
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

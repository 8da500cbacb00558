"""Compare at a glance: every curve's legend name differs from the others and says what
sets its setup apart, one legend entry per run or group, and no colour comes back before
sixteen curves. Found unreadable at nine runs: two groups of three seeds named after their
batch ("seed 2") or their setup in short, which hid the one field that told them apart."""

from __future__ import annotations

import pandas as pd

from mtl_core.analysis.overview import short_config
from mtl_core.config import RunConfig
from mtl_core.dashboard.figures.curves import curves_figure
from mtl_core.dashboard.figures.style import colour
from mtl_core.dashboard.groups import arm_labels, config_labels, seed_groups
from mtl_core.dashboard.pages.compare import curve_names

BASE = RunConfig.from_dict({"dataset": "digits", "train_size": 200, "width": 32, "depth": 1})
HARD = BASE.replace(aux=["parity"]).to_dict()
FAST = BASE.replace(aux=["parity"], lr=0.003).to_dict()
SINGLE = BASE.to_dict()


def runs_frame(rows: list[tuple[int, str, dict, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"id": i, "name": name, "config": {**config, "seed": seed}, "status": "completed"}
            for i, name, config, seed in rows
        ]
    )


NINE = runs_frame(
    [(1 + 2 * s, f"hard sharing, seed {s}", HARD, s) for s in range(3)]
    + [(2 + 2 * s, f"single task, seed {s}", SINGLE, s) for s in range(3)]
    + [(7 + s, f"seed {s}", FAST, s) for s in range(3)]
)


def test_groups_whose_names_hide_their_setups_are_labelled_by_what_sets_them_apart():
    groups = seed_groups(NINE)
    assert sorted(map(sorted, groups)) == [[1, 3, 5], [2, 4, 6], [7, 8, 9]]
    labels = dict(zip(map(min, groups), arm_labels(NINE, groups), strict=True))
    assert labels == {
        1: "digit +parity · hard · lr=0.001",
        2: "digit · single task · lr=0.001",
        7: "digit +parity · hard · lr=0.003",
    }


def test_groups_with_names_of_their_own_keep_them():
    runs = NINE[NINE.id <= 6]
    groups = seed_groups(runs)
    assert sorted(arm_labels(runs, groups)) == ["hard sharing", "single task"]


def test_a_field_an_old_config_lacks_is_not_a_difference():
    old = {k: v for k, v in HARD.items() if k not in ("pieces", "shared_layers")}
    assert config_labels([old, SINGLE]) == ["digit +parity · hard", "digit · single task"]


def test_every_curve_name_differs_with_bands_and_without():
    groups = seed_groups(NINE)
    names = dict(zip(NINE.id, NINE.name, strict=True))
    banded = curve_names(NINE, groups, names, banded=True)
    means = [banded[min(g)] for g in groups]
    assert len(set(means)) == 3 and all(n.endswith("(mean of 3 seeds)") for n in means)
    alone = curve_names(NINE, groups, names, banded=False)
    assert len(set(alone.values())) == 9
    assert alone[8] == "digit +parity · hard · lr=0.003, seed 1 (#8)"  # as its chip: #8
    six = NINE[NINE.id <= 6]
    own = curve_names(six, seed_groups(six), names, banded=False)
    assert own[3] == "hard sharing, seed 1"  # its own name: its chip says the same


def test_one_legend_entry_per_run_and_no_colour_twice_up_to_sixteen_runs():
    frame = pd.DataFrame(
        [
            (run, epoch, "digit", split, "loss", 1.0 / (epoch + 1 + run))
            for run in range(16)
            for epoch in range(3)
            for split in ("train", "val")
        ],
        columns=["run_id", "epoch", "task", "split", "metric", "value"],
    )
    names = {run: f"run {run}" for run in range(16)}
    fig = curves_figure(frame, tasks=["digit"], metric_of={}, run_names=names)
    legend = [t for t in fig.data if t.showlegend]
    assert [t.name for t in legend] == list(names.values())
    assert len({t.line.color for t in legend}) == 16
    assert len({colour(i) for i in range(16)}) == 16


def test_per_task_settings_of_tasks_one_setup_lacks_are_no_difference_and_read_as_words():
    """ "Compare with single-task" beside a run with label budgets for its auxiliary tasks:
    the legend said "task_sizes={'magnitude': 3000, 'parity': 3000}" against
    "task_sizes={}", a Python dict for what the task list already says."""
    budgets = BASE.replace(aux=["parity"], task_sizes={"parity": 1000}).to_dict()
    assert config_labels([budgets, SINGLE]) == ["digit +parity · hard", "digit · single task"]
    more = BASE.replace(aux=["parity"], task_sizes={"parity": 500}).to_dict()
    assert config_labels([budgets, more]) == ["task_sizes: parity 1000", "task_sizes: parity 500"]


def test_the_shuffled_control_and_a_maxout_trunk_read_in_the_short_config():
    # History's config column and run names: the control read the same as the run it
    # controls ("… · hard · 100 imgs"), a maxout run the same as an MLP one
    control = BASE.replace(aux=["parity", "magnitude"], shuffle_aux=1.0).to_dict()
    half = BASE.replace(aux=["parity", "magnitude"], aux_shuffle={"parity": 0.5}).to_dict()
    maxout = BASE.replace(backbone="maxout").to_dict()
    assert short_config(HARD) == "digits/plain · digit +parity · hard · 200 imgs"
    assert short_config(control).endswith(" · 200 imgs · aux labels shuffled")
    assert short_config(half).endswith(" · 200 imgs · parity labels 50% shuffled")
    assert short_config(maxout).endswith(" · 200 imgs · maxout trunk")
    # side by side, each says its own: not "aux_shuffle: …" or an unnamed default
    assert config_labels([HARD, BASE.replace(aux=["parity"], shuffle_aux=1.0).to_dict()]) == [
        "true aux labels",
        "aux labels shuffled",
    ]
    assert config_labels([SINGLE, maxout]) == ["mlp trunk", "maxout trunk"]


def test_main_task_weights_other_than_one_read_in_the_short_config_and_labels():
    # a Trade-off study's runs all read "digits/plain · digit,parity · hard · 100 imgs"
    two = BASE.replace(tasks=["digit", "parity"])
    low = two.replace(task_weights={"digit": 0.25, "parity": 0.75}).to_dict()
    high = two.replace(task_weights={"digit": 0.75, "parity": 0.25}).to_dict()
    assert short_config(low).endswith(" · weights digit 0.25, parity 0.75")
    assert short_config(two.replace(task_weights={"digit": 1.0}).to_dict()) == short_config(
        two.to_dict()
    )  # the default weight is not named
    assert config_labels([low, high]) == [
        "weights digit 0.25, parity 0.75",
        "weights digit 0.75, parity 0.25",
    ]


def test_history_names_the_main_task_whose_numbers_it_shows():
    import pandas as pd

    from mtl_core.analysis.overview import runs_overview

    summary = {"best_val_loss": 0.5, "test_metric": 0.9}
    runs = pd.DataFrame(
        {
            "id": [1, 2],
            "name": ["two tasks", "one"],
            "status": ["completed"] * 2,
            "created": [0.0, 0.0],
            "config": [BASE.replace(tasks=["digit", "parity"]).to_dict(), BASE.to_dict()],
            "summary": [
                {"main": {"digit": summary, "parity": summary}},
                {"main": {"digit": summary}},
            ],
        }
    )
    assert list(runs_overview(runs).task) == ["digit (first of 2)", "digit"]


def test_the_folded_model_and_training_sections_are_said_in_one_line():
    from mtl_core.analysis.overview import model_and_training

    assert model_and_training(BASE.to_dict()).endswith(
        " · 60 epochs, adam, lr 0.001, batch 32, seed 0"
    )
    tuned = BASE.replace(width=32, epochs=5, lr=0.01, dropout=0.2, early_stop=10, weight_decay=1e-4)
    assert model_and_training(tuned.to_dict()) == (
        f"mlp trunk, width 32, depth {BASE.depth}, dropout 0.2 · 5 epochs, adam, lr 0.01, batch 32, "
        "weight decay 0.0001, early stopping after 10, seed 0"
    )


def test_a_links_model_and_training_settings_show_under_their_folded_sections(fresh):
    # a class opening a link with epochs=5 could not see it: it went into a folded section
    from tests.helpers.apptest import open_app

    at = open_app({"epochs": "5", "width": "32", "dataset": "digits"})
    said = [c.value for c in at.sidebar.caption]
    assert any("width 32" in c and "· 5 epochs" in c for c in said), said

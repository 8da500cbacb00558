"""The lesson figure: an arm whose runs end early is drawn on top, with its stops marked.

Checked on hand-built metrics frames (which runs end where is chosen exactly) and on tiny
runs trained with early stopping on the bundled digits, whose marks must sit at the stop
epochs the store recorded (``stopped_early_at`` of each run's summary): the early arm's
traces come after every other arm's (Plotly draws later traces on top), the legend keeps
the lesson's order of arms, each run that ended early has a tick on its arm's validation
curve at its last epoch, and a dotted line stands at the arm's mean stop epoch, labelled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.dashboard.figures.lesson import (
    ROLE_COLOURS,
    arm_colours,
    figure_key,
    lesson_figure,
    lighter,
)
from mtl_core.dashboard.figures.lesson_marks import (
    BEST_MARKER,
    STOP_LINE,
    STOP_MARKER,
    TAIL_NAME,
    early_ends,
    marks_best,
    marks_stops,
)
from mtl_core.dashboard.figures.style import legend_room
from mtl_core.store.runs import RunStore
from mtl_core.studies.lessons import LESSONS
from mtl_core.training.trainer import train
from tests.conftest import tiny_config

ARMS = {"early stopping": [4, 5, 6], "no early stopping": [1, 2, 3]}
LAST = {1: 10, 2: 10, 3: 10, 4: 4, 5: 6, 6: 7}  # run -> its last epoch


def _frame(last: dict[int, int]) -> pd.DataFrame:
    rows = [
        {
            "run_id": run,
            "epoch": epoch,
            "task": "digit",
            "split": split,
            "metric": "accuracy",
            "value": 0.5 + 0.03 * epoch + 0.01 * run + (0.02 if split == "train" else 0.0),
        }
        for run, end in last.items()
        for epoch in range(end + 1)
        for split in ("train", "val")
    ]
    return pd.DataFrame(rows)


def _figure(last=LAST, arms=ARMS, **kw):
    return lesson_figure(_frame(last), arms, task="digit", metric="accuracy", **kw)


def _lines(fig, group: str) -> list:
    """The arm's mean lines (train and validation), without its bands, its runs' tails
    past the mean or a control's white edge."""
    return [
        t
        for t in fig.data
        if t.legendgroup == group
        and t.mode == "lines"
        and not t.fill
        and not t.name.endswith(TAIL_NAME)
        and t.hoverinfo != "skip"
    ]


def _tails(fig, group: str) -> list:
    """The arm's runs drawn one by one past its mean."""
    return [t for t in fig.data if t.legendgroup == group and t.name.endswith(TAIL_NAME)]


def _ticks(fig) -> list:
    return [t for t in fig.data if t.mode == "markers" and t.marker.symbol == STOP_MARKER]


def _stop_lines(fig) -> list:
    return [s for s in fig.layout.shapes if s.line.dash == STOP_LINE]


def test_an_arm_that_ends_early_is_drawn_after_every_other_arm_so_on_top():
    fig = _figure()
    order = [t.legendgroup for t in fig.data]
    last_full = max(i for i, g in enumerate(order) if g == "no early stopping")
    first_early = min(i for i, g in enumerate(order) if g == "early stopping")
    assert last_full < first_early  # bands and lines of the full arm first
    assert len(_lines(fig, "early stopping")) == len(_lines(fig, "no early stopping")) == 2
    bands = [t for t in fig.data if t.fill == "toself"]
    assert [t.legendgroup for t in bands] == ["no early stopping"] * 2 + ["early stopping"] * 2


def test_the_legend_keeps_the_lessons_order_of_arms_and_each_arm_its_colour():
    fig = _figure()
    entries = sorted((t for t in fig.data if t.showlegend), key=lambda t: t.legendrank or 1000)
    assert [t.name for t in entries] == list(ARMS)
    colours = {t.legendgroup: {x.line.color for x in _lines(fig, t.legendgroup)} for t in entries}
    assert all(len(c) == 1 for c in colours.values())
    assert colours["early stopping"] != colours["no early stopping"]
    # the same colour as when nothing ends early: drawing on top does not repaint an arm
    same = _figure({run: 10 for run in LAST})
    assert {t.legendgroup: t.line.color for t in same.data if t.showlegend} == {
        g: c.pop() for g, c in colours.items()
    }


def test_each_early_run_is_ticked_on_its_own_validation_curve_at_its_last_epoch():
    fig = _figure()
    (ticks,) = _ticks(fig)
    assert list(ticks.customdata) == [4, 6, 7] and ticks.legendgroup == "early stopping"
    own = _frame(LAST).set_index(["run_id", "epoch", "split"]).value
    assert list(ticks.x) == [4, 6, 7]
    assert list(ticks.y) == [own[run, LAST[run], "val"] for run in (4, 5, 6)]
    (val,) = [t for t in _lines(fig, "early stopping") if t.line.dash == "dash"]
    assert ticks.marker.color == val.line.color


def test_an_arms_mean_and_band_cover_only_the_epochs_every_seed_reached():
    """Past the first early stop the mean averaged fewer seeds and jumped as each dropped
    out; it now ends there, and each run that went on is drawn on its own, thin."""
    frame = _frame(LAST)
    fig = _figure()
    for group, ids in ARMS.items():
        reached = frame[frame.run_id.isin(ids)].groupby("epoch").run_id.nunique()
        for trace in _lines(fig, group) + [
            t for t in fig.data if t.legendgroup == group and t.fill
        ]:
            epochs = {int(e) for e in trace.customdata} if trace.customdata is not None else set()
            epochs |= {int(x) for x in trace.x}  # a band's polygon: its x are its epochs
            assert all(reached[e] == len(ids) for e in epochs), (group, sorted(epochs))
    (val,) = [t for t in _lines(fig, "early stopping") if t.line.dash == "dash"]
    assert list(val.customdata) == [0, 1, 2, 3, 4]  # run 4 stopped at epoch 4
    own = frame[frame.split == "val"].set_index(["run_id", "epoch"]).value
    assert list(val.y) == pytest.approx([np.mean([own[r, e] for r in (4, 5, 6)]) for e in range(5)])
    # from there the runs that went on, one by one in the arm's colour, thinner
    tails = [t for t in _tails(fig, "early stopping") if t.line.dash == "dash"]
    assert sorted(list(t.customdata) for t in tails) == [[4, 5, 6], [4, 5, 6, 7]]
    for tail in tails:
        run = 5 if len(tail.customdata) == 3 else 6
        assert list(tail.y) == pytest.approx([own[run, e] for e in tail.customdata])
        assert tail.line.color == val.line.color and tail.line.width < val.line.width
    assert len(_tails(fig, "early stopping")) == 4  # training and validation of runs 5 and 6
    assert _tails(fig, "no early stopping") == []  # every seed to the end: no tail


def test_a_dotted_line_stands_at_the_mean_stop_epoch_and_says_so():
    fig = _figure()
    (line,) = _stop_lines(fig)
    assert line.x0 == line.x1 == pytest.approx(np.mean([4, 6, 7]))
    assert (line.yref, line.y0, line.y1) == ("y domain", 0, 1)
    labels = [a.text for a in fig.layout.annotations if "stopped" in a.text]
    assert labels == ["early stopping: stopped (mean epoch 5.7)"]
    whole = _figure({**LAST, 4: 5, 5: 6, 6: 7})
    assert [a.text for a in whole.layout.annotations if "stopped" in a.text] == [
        "early stopping: stopped (mean epoch 6)"
    ]


def test_arms_that_train_to_the_end_or_still_train_are_left_alone():
    fig = _figure({run: 10 for run in LAST})
    assert _ticks(fig) == [] and _stop_lines(fig) == []
    assert [t.legendgroup for t in fig.data if t.showlegend] == list(ARMS)
    # a run of the early arm still trains: its arm may yet reach the end, nothing is marked
    live = _figure(live={6})
    assert _ticks(live) == [] and _stop_lines(live) == []
    assert early_ends(_frame(LAST), ARMS, {6}) == {}
    assert early_ends(_frame(LAST), ARMS, set()) == {"early stopping": [4, 6, 7]}


def test_in_projector_mode_the_stop_marks_grow_with_the_rest():
    small, large = _figure(), _figure(options={"large_fonts": True})
    assert _ticks(large)[0].marker.size > _ticks(small)[0].marker.size
    assert _stop_lines(large)[0].line.width > _stop_lines(small)[0].line.width
    label = next(a for a in large.layout.annotations if "stopped" in a.text)
    assert label.font.size == large.layout.font.size == 20


def test_the_marks_of_tiny_early_stopped_runs_sit_at_their_stored_stop_epochs(tmp_path):
    """Patience 1 at a high learning rate on 100 digits: seeds 1-3 stop before epoch 12."""
    base = tiny_config(epochs=12, lr=0.03)
    arms: dict[str, list[int]] = {"early stopping": [], "no early stopping": []}
    stopped = []
    with RunStore(tmp_path / "runs.sqlite") as store:
        for seed in (1, 2, 3):
            for arm, patience in (("early stopping", 1), ("no early stopping", 0)):
                config = base.replace(early_stop=patience, seed=seed, data_seed=seed)
                result = train(config, sink=store)
                assert result.status == "completed", result.message
                arms[arm].append(result.run_id)
                if patience:
                    stopped.append(result.summary["stopped_early_at"])
        frame = store.metrics([i for ids in arms.values() for i in ids])
    assert all(s < 12 for s in stopped), stopped  # the setup stops early, or tests nothing
    fig = lesson_figure(frame, arms, task="digit", metric="accuracy")
    order = [t.legendgroup for t in fig.data if t.mode == "lines"]
    assert order.index("early stopping") > len(order) - 1 - order[::-1].index("no early stopping")
    (ticks,) = _ticks(fig)
    assert list(ticks.customdata) == sorted(stopped)
    (line,) = _stop_lines(fig)
    assert line.x0 == pytest.approx(np.mean(stopped))
    # the arm's mean ends where its first run stopped, the others go on one by one
    (val,) = [t for t in _lines(fig, "early stopping") if t.line.dash == "dash"]
    assert max(val.customdata) == min(stopped)
    tails = [t for t in _tails(fig, "early stopping") if t.line.dash == "dash"]
    assert sorted(max(t.customdata) for t in tails) == sorted(
        s for s in stopped if s > min(stopped)
    )


def test_an_arm_keeps_its_colour_by_role_from_lesson_to_lesson_and_a_control_its_arms_hue():
    colours = {slug: arm_colours(lesson.preset) for slug, lesson in LESSONS.items()}
    for slug, of in colours.items():
        assert len(set(of.values())) == len(of), slug  # never two arms alike in a lesson
        for arm in ("single task", "hard sharing"):
            if arm in of:
                assert of[arm] == ROLE_COLOURS[arm], (slug, arm)
    aux = colours["auxiliary-tasks"]
    for task in ("bbox", "quadrant", "loops", "recon"):
        assert aux[f"+{task} shuffled"] == lighter(aux[f"+{task}"]), task
    assert colours["sharing-helps"]["shuffled control"] == lighter(ROLE_COLOURS["hard sharing"])
    # the figure draws each arm in that colour, whatever its place in the list
    arms = {"single task": [1, 2, 3], "hard sharing": [4, 5, 6]}
    fig = _figure(arms=arms, colours=colours["sharing-hurts"])
    assert {g: {t.line.color for t in _lines(fig, g)} for g in arms} == {
        g: {ROLE_COLOURS[g]} for g in arms
    }


def test_a_lesson_of_one_arm_names_its_curves_by_the_arm_not_the_task():
    fig = _figure(arms={"maxout": [1, 2, 3]}, colours={"maxout": "#E69F00"})
    assert [t.name for t in fig.data if t.showlegend] == ["maxout"]
    assert {t.line.color for t in _lines(fig, "maxout")} == {"#E69F00"}


def test_short_runs_get_one_x_tick_per_epoch_and_long_runs_automatic_ticks():
    assert _figure().layout.xaxis.dtick == 1  # 10 epochs: never a tick at 2.5
    assert _figure({run: 40 for run in LAST}).layout.xaxis.dtick is None


def test_the_legend_has_room_for_its_longest_name_on_a_projector():
    names = ["+quadrant shuffled", "hard sharing"]
    assert legend_room(names, True) > legend_room(names, False) > legend_room(["a"], False)
    arms = {"+quadrant shuffled": [1, 2, 3], "b": [4, 5, 6]}
    fig = _figure(arms=arms, options={"large_fonts": True})
    # 18 characters of 20 px: at least 0.6 em each beyond the line sample
    assert fig.layout.margin.r >= 18 * 0.6 * 20 + 60


def test_an_unbanded_arm_is_drawn_as_its_mean_line_alone():
    arms = {"hard sharing": [1, 2, 3], "shuffled control": [4, 5, 6]}
    fig = _figure(arms=arms, unbanded=frozenset({"shuffled control"}))
    bands = {t.legendgroup for t in fig.data if t.fill == "toself"}
    assert bands == {"hard sharing"}
    assert len(_lines(fig, "shuffled control")) == 2  # its train and validation means


def test_a_control_is_drawn_over_every_other_arm_so_it_shows_where_they_meet():
    """The shuffled control of "Sharing helps" runs along the single task's validation
    line (the lesson's point): drawn first, it lay under that line and its band, unseen."""
    arms = {"shuffled control": [1, 2, 3], "hard sharing": [4, 5, 6], "single task": [7, 8, 9]}
    fig = _figure(
        last={run: 10 for run in range(1, 10)},  # every run to the end: none drawn late
        arms=arms,
        unbanded=frozenset({"shuffled control"}),
    )
    order = [t.legendgroup for t in fig.data]
    assert set(order[order.index("shuffled control") :]) == {"shuffled control"}
    legend = sorted((t.legendrank, t.name) for t in fig.data if t.showlegend)
    assert [name for _, name in legend] == list(arms)  # the legend keeps the lesson's order


def test_the_caption_explains_stop_marks_exactly_when_the_figure_draws_them():
    """The lesson page's caption (``figure_key``) explains the ticks when ``marks_stops``
    says the figure drew them: not while the early arm still trains, nor when every run
    went to the end."""
    assert marks_stops(_figure())
    assert "ticks: where each run ended" in figure_key(_figure(), control=False)
    for fig in (_figure(live={5}), _figure(last={run: 10 for run in LAST})):
        assert not marks_stops(fig)  # a run of the early arm trains; every run went on
        assert "ticks" not in figure_key(fig, control=False)


def test_the_caption_names_the_star_and_the_control_exactly_when_they_are_drawn():
    assert "Star: each arm's lowest mean validation loss." in figure_key(_u_figure(), False)
    assert "Star" not in figure_key(_figure(live={5}), False)
    assert "shuffled control" in figure_key(_figure(), control=True)
    assert "shuffled control" not in figure_key(_figure(), control=False)


def _u_frame(bottom: dict[int, int], last: int = 12) -> pd.DataFrame:
    """Loss curves: training falls, validation falls to each run's ``bottom`` epoch and
    climbs again (a U), every run to ``last``; the accuracy, the U upside down."""
    rows = []
    for run, low in bottom.items():
        for epoch in range(last + 1):
            for split in ("train", "val"):
                loss = (
                    2.0 / (1 + epoch) + 0.01 * run
                    if split == "train"
                    else 0.5 + 0.02 * (epoch - low) ** 2 + 0.01 * run
                )
                for metric, value in (("loss", loss), ("accuracy", 1 - loss / 4)):
                    rows.append(
                        {"run_id": run, "epoch": epoch, "task": "digit", "split": split}
                        | {"metric": metric, "value": value}
                    )
    return pd.DataFrame(rows)


U_ARMS = {"maxout": [1, 2, 3], "mlp": [4, 5, 6]}
BOTTOMS = {1: 2, 2: 4, 3: 6, 4: 7, 5: 8, 6: 12}  # the mean of 4-6 bottoms at epoch 9


def _u_figure(bottom=BOTTOMS, view="loss", **kw):
    colours = {"maxout": "#E69F00", "mlp": "#009E73"}
    return lesson_figure(
        _u_frame(bottom),
        U_ARMS,
        task="digit",
        metric="accuracy",
        options={"view": view},
        colours=colours,
        **kw,
    )


def _stars(fig) -> list:
    return [t for t in fig.data if t.mode == "markers" and t.marker.symbol == BEST_MARKER]


def test_in_the_loss_view_a_star_marks_each_arms_lowest_mean_validation_loss():
    fig = _u_figure()
    stars = {t.legendgroup: t for t in _stars(fig)}
    assert set(stars) == set(U_ARMS)
    frame = _u_frame(BOTTOMS)
    val = frame[(frame.split == "val") & (frame.metric == "loss")]
    for arm, ids in U_ARMS.items():
        mean = val[val.run_id.isin(ids)].groupby("epoch").value.mean()
        (line,) = [t for t in _lines(fig, arm) if t.line.dash == "dash"]
        star = stars[arm]
        assert list(star.customdata) == [mean.idxmin()]  # 4 and 9: not any one run's bottom
        assert (star.x[0], star.y[0]) == (mean.idxmin(), pytest.approx(mean.min()))
        assert star.marker.color == line.line.color  # in its arm's colour
        assert f"lowest validation loss: epoch {mean.idxmin()}" in star.hovertemplate
        assert not star.showlegend
    assert marks_best(fig)


def test_no_star_while_an_arm_trains_on_another_view_or_before_its_mean_turns():
    """While a run trains, the lowest mean so far rides the tip of a falling curve; a
    mean still falling at its last epoch has no bottom yet; an accuracy has no loss."""
    live = _u_figure(live={5})
    assert [t.legendgroup for t in _stars(live)] == ["maxout"]
    metric = _u_figure(view="metric")
    assert _lines(metric, "maxout") and not marks_best(metric)  # accuracy drawn, no star
    falling = _u_figure({**BOTTOMS, 4: 12, 5: 14, 6: 20})  # the mlp's mean lowest at its end
    assert [t.legendgroup for t in _stars(falling)] == ["maxout"]


def test_a_controls_lines_are_edged_in_white_so_they_show_inside_another_arms_band():
    """The shuffled control of "Sharing helps", light blue, ran unseen inside the single
    task's grey band: each of its lines lies on a wider white line, hidden with it."""
    arms = {"single task": [1, 2, 3], "hard sharing": [4, 5, 6], "shuffled control": [7, 8, 9]}
    colours = {"single task": "#000000", "hard sharing": "#0072B2"}
    colours["shuffled control"] = lighter(colours["hard sharing"])
    fig = _figure(
        last={run: 10 for run in range(1, 10)},
        arms=arms,
        colours=colours,
        unbanded=frozenset({"shuffled control"}),
    )
    data = list(fig.data)
    lines = _lines(fig, "shuffled control")
    assert len(lines) == 2
    for line in lines:
        edge = data[data.index(line) - 1]  # drawn just before: beneath it
        assert edge.line.color == "#FFFFFF" and edge.line.width > line.line.width
        assert (list(edge.x), list(edge.y)) == (list(line.x), list(line.y))
        assert edge.legendgroup == line.legendgroup and not edge.showlegend
        assert edge.hoverinfo == "skip"
        assert line.line.color == colours["shuffled control"]  # its arm's colour, lighter
    # the other arms keep bare lines
    assert all(t.line.color != "#FFFFFF" for t in fig.data if t.legendgroup != "shuffled control")

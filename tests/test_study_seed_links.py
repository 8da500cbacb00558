"""The study forms' Seeds in links (mtl_core/dashboard/batch.py): Learning curve, Sharing
depth and Trade-off.

Each of these views trains its study over the Seeds of its own form, and no link carried
them: a teacher who trained the sharing depth over 5 seeds sent an address that opened it
on 3, so the class's Train the missing runs asked for other runs than the teacher's. Now
each form's Seeds is declared beside Train's (``curve_seeds``, ``depth_seeds``,
``tradeoff_seeds``): a link carries it when it differs from the default, opening the link
sets the form, a value submitted in the form reaches the address bar and the share link
and stays there while another view is shown, and a bad value gets the one-line note every
unusable parameter gets.
"""

from __future__ import annotations

import pytest

from mtl_core.config import DEFAULT
from mtl_core.dashboard.batch import (
    BATCH,
    CURVE_SEEDS,
    CURVE_VARY,
    DEPTH_SEEDS,
    DEPTH_VARY,
    TRADEOFF_SEEDS,
    TRADEOFF_VARY,
)
from mtl_core.dashboard.state import K
from mtl_core.dashboard.urlstate import link_batch, params_to_config, setup_params
from mtl_core.dashboard.viewnames import V, view_slug
from mtl_core.dashboard.widgets import control_state
from mtl_core.dashboard.widgets.control_state import key
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.studies.replicates import MAX_SEEDS
from tests.helpers.apptest import address, open_app, shared, train_button

UNSET = {p.name: p.default for p in BATCH}
STUDIES = [
    (CURVE_SEEDS, "Train the missing runs of this curve"),
    (DEPTH_SEEDS, "Train the missing runs of this study"),
    (TRADEOFF_SEEDS, "Run the trade-off study"),
]
PARAMS = [p for p, _ in STUDIES]
# a setup every study view takes: two main tasks, hard sharing, a small dataset
SETUP = {"dataset": "digits", "tasks": "digit,parity", "train_size": "60", "epochs": "2"}


def show(at, view: str):
    at.button_group(key=picker_key(at.session_state)).set_value(view).run()
    assert not at.exception, at.exception
    return at


def seeds(at, param) -> int:
    return at.number_input(key=key(param.name)).value


def test_each_study_view_declares_a_seeds_parameter_of_its_own():
    assert [p.view for p in PARAMS] == [V.learning, V.depth, V.pareto]
    names = [p.name for p in BATCH]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.name)
def test_a_link_carries_a_study_forms_seeds_and_reads_it_back(param):
    assert setup_params(DEFAULT, None, UNSET) == {}  # at its default: left out
    for count in (1, 5, MAX_SEEDS):
        batch = {**UNSET, param.name: count}
        params = setup_params(DEFAULT, None, batch)
        assert params == {param.name: str(count)}
        assert link_batch(params) == (batch, [])
        assert params_to_config(params) == (DEFAULT, [])  # no note as an unknown parameter


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.name)
@pytest.mark.parametrize("text", ["40", "0", "three", "1234-5678"])
def test_a_bad_study_seeds_gets_one_note_naming_the_problem_and_the_fix(param, text):
    batch, notes = link_batch({param.name: text})
    assert batch == UNSET and len(notes) == 1
    assert notes[0].startswith(
        f"ignored URL parameter {param.name!r}: {param.name}: {text!r} is not a whole number "
        f"from 1 to {MAX_SEEDS}; {param.name}= is how many seeds the {param.view}"
    )
    assert notes[0].endswith(f"({param.name}=3)")  # the fix, as a link writes it
    assert params_to_config({param.name: text}) == (DEFAULT, [])  # one note, not a second


@pytest.mark.parametrize(("param", "submit"), STUDIES, ids=lambda x: getattr(x, "name", ""))
def test_a_link_opens_the_study_with_its_seeds_and_the_form_writes_them_back(fresh, param, submit):
    at = open_app({**SETUP, "view": view_slug(param.view), param.name: "5"})
    assert at.session_state[K.view] == param.view and not at.warning
    assert seeds(at, param) == 5
    assert address(at)[param.name] == "5" and f"&{param.name}=5" in shared(at)

    at.number_input(key=key(param.name)).set_value(2)
    next(b for b in at.button if b.label == submit).click().run()
    assert not at.exception, at.exception
    assert address(at)[param.name] == "2" and f"&{param.name}=2" in shared(at)

    show(at, V.history)  # another view, for two script runs: the form is not drawn
    at.run()
    assert address(at)[param.name] == "2"
    assert seeds(show(at, param.view), param) == 2

    again = open_app(address(at))
    assert seeds(again, param) == 2 and not again.warning


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.name)
def test_a_study_at_its_default_seeds_leaves_them_out_and_a_bad_one_is_noted(fresh, param):
    at = open_app({**SETUP, "view": view_slug(param.view)})
    assert seeds(at, param) == param.default and param.name not in address(at)
    at = open_app({**SETUP, "view": view_slug(param.view), param.name: "40"})
    notes = " ".join(w.value for w in at.warning)
    assert f"ignored URL parameter {param.name!r}: {param.name}: '40' is not a whole" in notes
    assert seeds(at, param) == param.default and param.name not in address(at)


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.name)
def test_a_train_click_after_a_study_view_still_starts_early(fresh, monkeypatch, param):
    """Streamlit drops the state of a widget a script run does not draw, and the sidebar
    puts a ``c_`` control back a run later: a Train click in between found its controls
    "changed" and lost its early start (widgets/train_start.py). The form's value is kept."""
    seen: list[bool] = []
    real = control_state.unchanged_since_drawn
    monkeypatch.setattr(
        control_state, "unchanged_since_drawn", lambda: seen.append(real()) or seen[-1]
    )
    at = show(open_app({**SETUP, "view": view_slug(param.view), param.name: "5"}), V.history)
    at.run()
    train_button(at).click().run()
    assert not at.exception, at.exception
    assert seen == [True] and at.session_state[key(param.name)] == 5


# Each form's "also vary the data seed" rides in links the same way (ticked by default).
VARIES = [
    (CURVE_VARY, CURVE_SEEDS, "Train the missing runs of this curve"),
    (DEPTH_VARY, DEPTH_SEEDS, "Train the missing runs of this study"),
    (TRADEOFF_VARY, TRADEOFF_SEEDS, "Run the trade-off study"),
]


@pytest.mark.parametrize(("vary", "seeds_param", "_"), VARIES, ids=lambda x: getattr(x, "name", ""))
def test_each_study_form_declares_its_vary_box_beside_its_seeds(vary, seeds_param, _):
    assert vary.view == seeds_param.view and vary.default is True
    assert setup_params(DEFAULT, None, {**UNSET, vary.name: False}) == {vary.name: "0"}
    assert link_batch({vary.name: "0"}) == ({**UNSET, vary.name: False}, [])


@pytest.mark.parametrize(("vary", "_", "submit"), VARIES, ids=lambda x: getattr(x, "name", ""))
def test_a_link_with_the_box_unticked_trains_the_study_on_one_draw_of_images(
    fresh, vary, _, submit
):
    """A study trained on one draw of images: the class's link opened it ticked, and its
    Train the missing runs drew other images per seed than the teacher's runs."""
    from mtl_core.store.runs import RunStore

    at = open_app({**SETUP, "view": view_slug(vary.view), vary.name: "0"})
    assert at.checkbox(key=key(vary.name)).value is False and not at.warning
    assert address(at)[vary.name] == "0" and f"&{vary.name}=0" in shared(at)
    next(b for b in at.button if b.label == submit).click().run()
    assert not at.exception, at.exception
    with RunStore(fresh) as store:
        drawn = {store.get_run(int(i))["config"]["data_seed"] for i in store.runs().id}
        seeds_ = {store.get_run(int(i))["config"]["seed"] for i in store.runs().id}
    assert len(seeds_) > 1 and len(drawn) == 1  # several seeds, one draw of images
    at.checkbox(key=key(vary.name)).check()
    next(b for b in at.button if b.label == submit).click().run()
    assert vary.name not in address(at)  # back at its default

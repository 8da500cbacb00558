"""The Train batch in links (mtl_core/dashboard/batch.py): Seeds and *also vary the data seed*.

The address bar and the share link dropped both: with Seeds 3 the address read
``?aux=parity%2Cmagnitude&seed=1&run=26``, so a class opening it trained one seed and drew
no band, and ``?seeds=4`` outside a lesson was silently ignored (where ``?foo=1`` got a
note). Now a link carries each when it differs from its default, opening it sets the
controls, a bad value gets the one-line note every unusable parameter gets, and in a
lesson's link ``seeds=`` keeps its meaning there: the lesson's draw of seeds.
"""

from __future__ import annotations

import pytest

from mtl_core.config import DEFAULT
from mtl_core.dashboard.batch import BATCH
from mtl_core.dashboard.urlstate import link_batch, link_lesson, params_to_config, setup_params
from mtl_core.dashboard.widgets.share import share_query
from tests.helpers.apptest import address, open_app, shared, url_config

UNSET = {p.name: p.default for p in BATCH}
CONFIG = DEFAULT.replace(aux=["parity", "magnitude"], seed=1)


@pytest.mark.parametrize(
    "batch",
    [
        {"seeds": 3, "vary_data_seed": False},
        {"seeds": 3, "vary_data_seed": True},
        {"seeds": 10, "vary_data_seed": True},
        {"seeds": 1, "vary_data_seed": True},  # ticked, greyed out at one seed: kept as seen
    ],
)
def test_a_link_carries_the_train_batch_and_reads_it_back(batch):
    params = setup_params(CONFIG, None, batch)
    assert params["seeds" if batch["seeds"] != 1 else "vary_data_seed"]
    assert link_batch(params) == ({**UNSET, **batch}, [])
    assert params_to_config(params) == (CONFIG, [])  # no note about the batch's parameters
    assert share_query(CONFIG, None, batch).startswith("?aux=parity%2Cmagnitude&seed=1&")


def test_a_link_leaves_out_a_batch_at_its_defaults():
    assert setup_params(CONFIG, None, UNSET) == {"aux": "parity,magnitude", "seed": "1"}
    assert setup_params(DEFAULT, None, UNSET) == {}
    assert link_batch({}) == (UNSET, [])


def test_seeds_outside_a_lesson_sets_the_seeds_count():
    assert link_batch({"seeds": "4"}) == ({**UNSET, "seeds": 4}, [])
    assert link_batch({"seeds": "4", "vary_data_seed": "true"}) == (
        {**UNSET, "seeds": 4, "vary_data_seed": True},
        [],
    )


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"seeds": "11"}, "'11' is not a whole number from 1 to 10; seeds= is how many seeds"),
        ({"seeds": "0"}, "'0' is not a whole number from 1 to 10"),
        ({"seeds": "three"}, "'three' is not a whole number from 1 to 10"),
        ({"seeds": "1234-5678"}, "'1234-5678' is a lesson's draw of seeds, and the link names no"),
        ({"vary_data_seed": "maybe"}, "'maybe' is neither 1 (ticked) nor 0 (not ticked)"),
    ],
)
def test_a_bad_batch_value_gets_one_note_naming_the_problem_and_the_fix(params, says):
    batch, notes = link_batch(params)
    (name,) = params
    assert batch == UNSET and len(notes) == 1
    assert notes[0].startswith(f"ignored URL parameter {name!r}: {name}: ") and says in notes[0]
    assert f"{name}=" in notes[0]  # the fix, as a link writes it
    assert params_to_config(params) == (DEFAULT, [])  # one note, not a second one


def test_in_a_lesson_seeds_is_the_lesson_draw_and_both_readings_agree():
    """``seeds=`` in a lesson's link is its draw (link_lesson), never the Seeds count."""
    draw = {"lesson": "sharing-helps", "seeds": "1234-5678-9012"}
    assert link_batch(draw) == (UNSET, [])
    assert link_lesson(draw) == ("sharing-helps", (1234, 5678, 9012), None, [])
    assert params_to_config(draw) == (DEFAULT, [])
    # a count, as outside a lesson: the lesson's note says what seeds= means there
    count = {"lesson": "sharing-helps", "seeds": "5"}
    assert link_batch(count) == (UNSET, [])
    slug, seeds, _, notes = link_lesson(count)
    assert (slug, seeds) == ("sharing-helps", None) and len(notes) == 1
    assert "seeds= is its draw of seeds joined by '-'" in notes[0] and "not how many" in notes[0]
    # the data-seed box is no lesson's parameter: a lesson's link still sets it
    assert link_batch({**draw, "vary_data_seed": "1"})[0] == {**UNSET, "vary_data_seed": True}


def test_seeds_chosen_in_the_sidebar_reach_the_address_and_the_share_link_and_reopen(fresh):
    at = open_app({"aux": "parity,magnitude", "seed": "1"})
    at.sidebar.number_input(key="c_seeds").set_value(3).run()
    at.sidebar.checkbox(key="c_vary_data_seed").check().run()
    assert not at.exception, at.exception
    link = address(at)
    assert (link["seeds"], link["vary_data_seed"]) == ("3", "1")
    assert shared(at) == "?aux=parity%2Cmagnitude&seed=1&seeds=3&vary_data_seed=1"
    again = open_app(link)
    assert again.sidebar.number_input(key="c_seeds").value == 3
    assert again.sidebar.checkbox(key="c_vary_data_seed").value is True
    assert url_config(again) == CONFIG and not again.warning
    assert address(again) == link


def test_a_bad_seeds_in_a_link_gets_a_note_on_the_page_and_seeds_stays_1(fresh):
    at = open_app({"seeds": "40", "foo": "1"})
    notes = " ".join(w.value for w in at.warning)
    assert "ignored URL parameter 'seeds': seeds: '40' is not a whole number from 1" in notes
    assert "ignored unknown URL parameter 'foo'" in notes
    assert at.sidebar.number_input(key="c_seeds").value == 1

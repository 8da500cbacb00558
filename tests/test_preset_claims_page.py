"""The page shows every claim of a preset with its interval and its seeds (AppTest, no
browser): a student sees what the lesson claims and how sure it is, not only the story."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.studies.claims import evidence_sentence
from mtl_core.studies.lessons import LESSONS
from mtl_core.studies.presets import PRESETS

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def isolated_store(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("dash")
    monkeypatch.setenv("MTL_DATA_ROOT", str(root))
    monkeypatch.setenv("MTL_STORE", str(root / "runs.sqlite"))


def test_the_maxout_preset_shows_each_claim_with_its_interval_and_seeds():
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.sidebar.selectbox(key="preset_choice").set_value("Maxout U-curve")
    at.run()
    at.sidebar.button(key="apply_preset").click()
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(m.value for m in at.markdown)
    for claim in PRESETS["Maxout U-curve"].claims:
        assert claim.text in shown
        assert evidence_sentence(claim, claim.recorded) in shown
    assert shown.count("95% CI") == 2 and shown.count("seeds 100-104") == 2
    assert "fig. 7.3" in shown and "Goodfellow, Bengio & Courville" in shown
    assert "**Overfitting: the U.**" in shown  # the lesson card's name, not the preset's id
    # the claims fold under the explanation (open, they took 340 px above every view)
    (more,) = at.main.expander
    assert more.label == "Its claims, as measured, and its lesson" and not more.proto.expanded
    folded = " ".join(m.value for m in more.markdown)
    assert all(claim.text in folded for claim in PRESETS["Maxout U-curve"].claims)
    assert [b.key for b in more.button] == ["open_preset_lesson"]


def test_a_title_that_is_a_question_gets_no_full_stop_after_its_question_mark():
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["preset"] = "Auxiliary tasks"
    at.run()
    shown = " ".join(m.value for m in at.markdown)
    assert "**Which auxiliary task?** " in shown and "?." not in shown


def test_the_preset_list_names_and_orders_the_lessons_as_their_cards_do():
    """One lesson, one name: the Preset list said "Maxout U-curve" for the card
    "Overfitting: the U", and listed the lessons in another order."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    listed = at.sidebar.selectbox(key="preset_choice").options
    assert listed == [lesson.title for lesson in LESSONS.values()]

"""The page-test helper gives a loaded machine time: ``open_app`` sets AppTest's timeout."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.helpers import apptest


def test_page_tests_give_each_script_run_three_minutes(monkeypatch):
    monkeypatch.setattr(AppTest, "run", lambda self, **kwargs: self)  # no page is drawn
    at = apptest.open_app()
    assert at.default_timeout >= 180, "a loaded machine needs longer than AppTest's 60 s"

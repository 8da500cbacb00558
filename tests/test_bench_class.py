"""The classroom benchmark's arithmetic: what it calls a gap between new live points.

Issue 13's point 3 (points at least every 2 s per page) is judged on these numbers
(bench/bench_class.py, docs/classroom.md), so the way they are counted is tested here, on
made-up timelines: the page probe's (time in ms, points drawn) samples, the run's
running and ended times (s), and the chart's requests (sent, answered, in ms).
"""

from __future__ import annotations

import pytest

from bench.bench_class import chart_gaps

RUN = {"running": 10.0, "ended": 20.0}


def samples(*pairs: tuple[float, int]) -> list[list[float]]:
    return [[t * 1000, n] for t, n in pairs]


def test_gaps_are_taken_between_draws_with_new_points_inside_the_run():
    points = samples((9.0, 0), (11.0, 4), (12.0, 8), (14.5, 12), (15.0, 12), (16.0, 16), (21.0, 20))
    got = chart_gaps({"points": points}, RUN)
    # before the run started: out; 15.0 drew nothing new; 21.0 closes the window
    assert got["draw_times_s"] == [1.0, 2.0, 4.5, 6.0, 11.0]
    assert got["gap_max_s"] == pytest.approx(5.0)
    assert got["first_point_after_running_s"] == pytest.approx(1.0)


def test_a_figure_drawn_anew_with_fewer_points_brings_no_new_point_until_it_passes_the_most():
    """A stale figure (older points) drawn over the fed chart, then fed back up: the
    restored points were drawn before, so the gap runs until the chart holds more."""
    points = samples((11.0, 4), (12.0, 8), (12.5, 6), (13.0, 8), (15.0, 10), (21.0, 20))
    got = chart_gaps({"points": points}, RUN)
    assert got["draw_times_s"] == [1.0, 2.0, 5.0, 11.0]
    assert got["gap_max_s"] == pytest.approx(6.0)


def test_the_largest_gap_is_split_at_the_request_that_brought_its_closing_point():
    points = samples((11.0, 4), (12.0, 8), (14.0, 12), (21.0, 20))
    feeds = [[11.5e3, 11.55e3], [13.2e3, 13.7e3], [14.5e3, 14.52e3]]
    got = chart_gaps({"points": points, "feeds": feeds}, {"running": 10.0, "ended": 15.0})
    assert got["gap_max_s"] == pytest.approx(7.0)  # 14.0 -> 21.0, the completion's draw
    split = got["gap_split_s"]
    assert split == {"draw_to_request": 0.5, "server_answer": 0.02, "answer_to_drawn": 6.48}


def test_a_run_that_never_ran_has_no_gap():
    assert chart_gaps({"points": samples((1.0, 3))}, {"running": None, "ended": None}) == {
        "gap_max_s": None
    }

"""The live chart's feed: what the ``mtl/points`` route answers, and the figure it extends.

The route's answer is checked against rows written to a real run store; the route itself
is called as the launcher serves it (a Starlette request, its bad parameters and unknown
runs answered in one line). The browser side, that the chart appends exactly these
numbers and continues the smoothing, is tests/e2e/test_browser.py's.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from starlette.requests import Request

from mtl_core.dashboard import feed, serve
from mtl_core.dashboard.figures.curves import curves_figure
from mtl_core.store.runs import RunStore


def _epoch(store: RunStore, run_id: int, epoch: int, val: float | None = None) -> None:
    store.append_epoch(
        run_id,
        epoch,
        [
            ("digit", "train", "loss", 1.0 / (epoch + 1)),
            ("digit", "val", "loss", 2.0 / (epoch + 1) if val is None else val),
            ("digit", "val", "accuracy", 0.1 * epoch),
            ("_run", "train", "steps", 10.0 * epoch),
        ],
    )


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        yield store


def test_the_feed_sends_only_the_epochs_after_the_one_asked_for(store):
    run = store.create_run({})
    for epoch in range(5):
        _epoch(store, run, epoch)
    store.append_epoch(run, 4, [("digit", "test", "accuracy", 0.9)])
    got = feed.points(store, run, after=2)
    assert got["status"] == "running" and got["live"] is True
    assert got["curves"]["digit"]["train"]["loss"] == [[3, 4], [1 / 4, 1 / 5]]
    assert got["curves"]["digit"]["val"]["accuracy"] == [[3, 4], [0.1 * 3, 0.1 * 4]]
    assert got["curves"]["_run"]["train"]["steps"] == [[3, 4], [30.0, 40.0]]
    assert "test" not in got["curves"]["digit"]  # scored once, at the end: not a curve
    assert feed.points(store, run, after=4)["curves"] == {}


def test_an_ended_run_tells_the_chart_to_stop_asking(store):
    run = store.create_run({})
    _epoch(store, run, 0)
    store.finish(run, "completed", "", {}, {})
    got = feed.points(store, run, after=-1)
    assert got["status"] == "completed" and got["live"] is False
    assert got["curves"]["digit"]["val"]["loss"] == [[0], [2.0]]


def test_a_diverged_value_travels_as_null_in_valid_json(store):
    run = store.create_run({})
    _epoch(store, run, 0, val=math.nan)
    text = json.dumps(feed.points(store, run, after=-1), allow_nan=False)
    assert json.loads(text)["curves"]["digit"]["val"]["loss"] == [[0], [None]]


def _request(query: str) -> Request:
    scope = {"type": "http", "method": "GET", "path": "/mtl/points", "headers": []}
    return Request({**scope, "query_string": query.encode()})


def _on_a_loop(coroutine):
    """Run ``coroutine`` on an event loop in a thread of its own: in the whole suite the
    browser tests' Playwright keeps an event loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _get(query: str) -> tuple[int, bytes]:
    """The route's answer."""
    response = _on_a_loop(serve.points(_request(query)))
    return response.status_code, response.body


def test_the_route_answers_from_the_page_managers_store(store):
    run = store.create_run({})
    for epoch in range(3):
        _epoch(store, run, epoch)
    feed.serve_from(store)
    status, body = _get(f"run={run}&after=0")
    assert status == 200
    assert json.loads(body)["curves"]["digit"]["train"]["loss"] == [[1, 2], [1 / 2, 1 / 3]]
    status, body = _get(f"run={run + 1}&after=0")
    assert (status, body) == (404, f"no run {run + 1} in this server's store".encode())
    for bad in ("after=0", "run=one", f"run={run}&after=x"):
        status, body = _get(bad)
        assert status == 400 and body == b"run and after must be whole numbers: ?run=ID&after=EPOCH"


def test_the_route_reads_a_free_store_on_the_event_loop(store, monkeypatch):
    run = store.create_run({})
    _epoch(store, run, 0)
    feed.serve_from(store)
    handed: list[object] = []

    async def to_thread(function, *args, **kwargs):
        handed.append(function)
        return function(*args, **kwargs)

    monkeypatch.setattr(serve, "run_in_threadpool", to_thread)
    status, body = _get(f"run={run}&after=-1")
    assert status == 200 and json.loads(body)["curves"]["digit"]["val"]["loss"] == [[0], [2.0]]
    assert handed == []  # no hand-over to a thread and back (bench/bench_class.py: why)


def test_a_store_in_use_never_holds_up_the_event_loop(store):
    """Another thread (a page's script run) holds the store: the route waits for it in a
    thread, and the server's event loop goes on serving everything else meanwhile."""
    run = store.create_run({})
    _epoch(store, run, 0)
    feed.serve_from(store)
    held, release, released = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        with store.if_free() as free:
            assert free
            held.set()
            release.wait(10)  # a loop stuck on the store gets it back only after this
        released.set()

    async def meanwhile():
        answer = asyncio.create_task(serve.points(_request(f"run={run}&after=-1")))
        await asyncio.sleep(0.3)  # the loop's other work: it runs while the route waits
        seen = (released.is_set(), answer.done())
        release.set()
        return seen, await answer

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    (was_released, was_answered), response = _on_a_loop(meanwhile())
    holder.join()
    assert not was_released, "the event loop waited for the store"
    assert not was_answered  # the route waited for the store, off the loop
    assert response.status_code == 200
    assert json.loads(response.body)["curves"]["digit"]["val"]["loss"] == [[0], [2.0]]


def test_a_fed_figure_draws_every_curve_before_the_first_epoch_and_names_it():
    empty = pd.DataFrame(columns=["run_id", "epoch", "task", "split", "metric", "value"])
    common = {
        "tasks": ["digit", "parity"],
        "metric_of": {"digit": "accuracy", "parity": "accuracy"},
    }
    fed = curves_figure(empty, run_names={7: "run 7"}, feed=True, smoothing=0.6, **common)
    assert [t.meta for t in fed.data] == [
        {"feed": [task, split, "loss"], "smoothing": 0.6}
        for task in ("digit", "parity")
        for split in ("train", "val")
    ]
    assert all(len(t.x) == 0 for t in fed.data)
    assert curves_figure(empty, run_names={7: "run 7"}, **common).data == ()
    frame = pd.DataFrame(
        {"run_id": 7, "epoch": [0, 0], "task": "digit", "split": ["train", "val"]}
        | {"metric": "accuracy", "value": [0.5, 0.4]}
    )
    shown = curves_figure(frame, view="metric", feed=True, **common)
    assert [t.meta["feed"] for t in shown.data if t.meta] == [
        ["digit", "train", "accuracy"],
        ["digit", "val", "accuracy"],
        ["parity", "train", "accuracy"],
        ["parity", "val", "accuracy"],
    ]
    assert all(t.meta is None for t in curves_figure(frame, **common).data)


def test_a_fed_figure_has_a_star_to_move_before_the_first_epoch():
    """The chart moves a task's star as new lowest validation losses arrive; drawn before
    the run's first epoch (a cold first click), the star must already be there, empty."""
    empty = pd.DataFrame(columns=["run_id", "epoch", "task", "split", "metric", "value"])
    fig = curves_figure(
        empty,
        tasks=["digit", "parity"],
        metric_of={"digit": "accuracy", "parity": "accuracy"},
        best={(7, "digit"): None},
        run_names={7: "run 7"},
        feed=True,
    )
    stars = [t for t in fig.data if t.marker.symbol == "star"]
    assert [(t.meta, len(t.x)) for t in stars] == [
        ({"star": ["digit", "loss"], "best": [None, None]}, 0)
    ]

"""Crashes and vanished pages, in a real server and browser.

The Streamlit server SIGKILLed while two runs train: nothing finished is lost. The whole
process group dies (server and worker processes: they share the group), so
no one finishes the runs. After a restart on the same data root, the store passes
``PRAGMA integrity_check``, every epoch committed before the kill is there, and the
restarted server marks both runs ``interrupted`` once their heartbeat is older than
MTL_STALE_AFTER (3 s here); the History view lists them so.

A closed tab: its runs are stopped after MTL_ABANDON_AFTER, while an open tab keeps them
even on a view that does not poll the run (its keep-alive fragment ticks).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.waiting import wait_for as shared_wait_for

from .conftest import free_port, served, start_app, stop_app, wait_healthy

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CELLS = """() => Array.from(document.querySelectorAll('[role=gridcell], td'))
    .map(cell => cell.innerText.trim())"""


def read(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql).fetchall()


def progress(db: Path) -> dict[int, tuple[str, int]]:
    """Run id -> (status, last committed epoch) as the store has it."""
    if not db.exists():
        return {}
    return {
        run_id: (status, last)
        for run_id, status, last in read(
            db,
            (
                "SELECT r.id, r.status, coalesce(max(m.epoch), -1) FROM runs r"
                " LEFT JOIN metrics m ON m.run_id = r.id AND m.split != 'test' GROUP BY r.id"
            ),
        )
    }


def wait_for(db: Path, check, timeout: float, what: str):
    """Wait on the store at ``db``; a time-out shows every run's status and last epoch."""
    return shared_wait_for(check, timeout, what, lambda: f"runs: {progress(db)}", every=0.2)


def test_a_killed_server_loses_no_finished_epoch(tmp_path, browser):
    db = tmp_path / "runs.sqlite"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MTL_STALE_AFTER": "3"}
    outputs = []
    server = start_app(tmp_path, port, env)
    pages = [browser.new_page(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    try:
        wait_healthy(url, server)
        for page in pages:  # two students, one run each
            page.goto(f"{url}/?epochs=400&train_size=1000")
            page.get_by_role("button", name="Train", exact=True).click()
            page.get_by_role("heading", name=re.compile(r"^run \d+$")).wait_for()
        wait_for(
            db,
            lambda: (
                len(progress(db)) == 2
                and all(status == "running" and last >= 3 for status, last in progress(db).values())
            ),
            90,
            "both runs to have 3 epochs",
        )
        before = {run_id: last for run_id, (_, last) in progress(db).items()}
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
        outputs.append(stop_app(server))

        assert read(db, "PRAGMA integrity_check") == [("ok",)]
        after = progress(db)
        assert sorted(after) == sorted(before)
        for run_id, last in before.items():
            status, kept = after[run_id]
            assert status == "running" and kept >= last  # nothing committed was lost

        server = start_app(tmp_path, port, env)
        wait_healthy(url, server)
        page = pages[0]
        page.reload()  # an open tab comes back; its first page load starts the manager
        wait_for(
            db,
            lambda: all(s == "interrupted" for s, _ in progress(db).values()),
            30,
            "the restarted server to mark both runs interrupted",
        )
        final = progress(db)
        for run_id, last in before.items():
            assert final[run_id][1] >= last  # still every epoch committed before the kill
        page.get_by_role("radio", name="History").click()
        names = [f"run {run_id}" for run_id in sorted(before)]
        page.wait_for_function(
            f"""() => {{ const cells = ({CELLS})();
                return {names!r}.every(n => cells.includes(n))
                    && cells.filter(c => c === 'interrupted').length === 2; }}""",
        )
        messages = read(db, "SELECT message FROM runs")
        assert all("finished epochs are kept" in m for (m,) in messages), messages
        assert read(db, "PRAGMA integrity_check") == [("ok",)]
    finally:
        for page in pages:
            page.close()
        outputs.append(stop_app(server))
    for output in outputs:
        assert "Traceback" not in output, output[-3000:]


@pytest.fixture
def one_slot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A server with one training slot whose pages are abandoned after 6 s: its URL and
    store. A fixture, so that a failure's report still sees the page and the server."""
    with served(request, tmp_path, {"MTL_MAX_RUNS": "1", "MTL_ABANDON_AFTER": "6"}) as url:
        yield url, tmp_path / "runs.sqlite"


def test_a_closed_tab_loses_its_runs_and_an_open_one_keeps_them(one_slot, browser):
    """One training slot: the second run waits and the page says so; on the History view
    the open tab keeps both runs well past the 6 s time-out; closed, it loses them."""
    url, db = one_slot
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?epochs=2000&train_size=1000")
    train = page.get_by_role("button", name="Train", exact=True)
    train.click()
    page.get_by_role("heading", name="run 1").wait_for()
    train.click()  # the same setup again: Train offers the run, and a fresh copy
    page.get_by_role("button", name="Train a fresh copy").click()
    page.get_by_text("queued: waiting for a free training slot").wait_for()
    page.get_by_role("radio", name="History").click()
    wait_for(db, lambda: progress(db).get(1, ("", -1))[1] >= 1, 60, "the first run to train")
    time.sleep(12)  # twice the time-out, on a view without a live chart
    assert [s for s, _ in progress(db).values()] == ["running", "queued"]
    page.close()
    closed = time.monotonic()
    wait_for(
        db,
        lambda: all(s == "stopped" for s, _ in progress(db).values()),
        30,
        "the closed tab's runs to stop",
    )
    assert time.monotonic() - closed >= 6.0 - 2.0  # its last tick came at most 2 s before
    messages = [m for (m,) in read(db, "SELECT message FROM runs")]
    assert all("page was closed" in m for m in messages), messages

"""A run stopped for a reason (its page closed, a pause timed out) ends with that reason as
its message from the first moment it reads as stopped: a page or a test that looks in
between must never see a generic "stopped by request" that is corrected a moment later."""

from __future__ import annotations

import threading
import time

from mtl_core.execution.worker import train_stored
from mtl_core.store.runs import RunStore


def test_a_stop_reason_is_the_message_the_run_first_ends_with(tmp_path, make_config):
    path = tmp_path / "runs.sqlite"
    config = make_config(epochs=10_000).to_dict()
    with RunStore(path) as store:
        run_id = store.create_run(config, status="queued")
        worker = threading.Thread(target=train_stored, args=(str(path), run_id, config))
        worker.start()
        try:
            deadline = time.monotonic() + 60
            while store.last_epoch(run_id) < 1:
                assert time.monotonic() < deadline, "the run never trained an epoch"
                time.sleep(0.02)
            store.request(run_id, "stop", "stopped: the reason the test gave")
            while (run := store.get_run(run_id))["status"] != "stopped":
                assert time.monotonic() < deadline, "the run never stopped"
        finally:
            store.request(run_id, "stop")
            worker.join(60)
        assert run["message"] == "stopped: the reason the test gave"


def test_a_stop_reason_is_also_the_message_of_a_run_stopped_before_it_started(
    tmp_path, make_config
):
    path = tmp_path / "runs.sqlite"
    config = make_config().to_dict()
    with RunStore(path) as store:
        run_id = store.create_run(config, status="queued")
        store.request(run_id, "stop", "stopped: its page was closed")
        assert train_stored(str(path), run_id, config).message == "stopped: its page was closed"
        assert store.get_run(run_id)["message"] == "stopped: its page was closed"


def test_a_late_stop_request_leaves_an_ended_run_its_message(tmp_path, make_config):
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run(make_config().to_dict())
        store.finish(run_id, "completed", "", {}, {})
        store.request(run_id, "stop", "stopped: its page was closed")
        assert store.get_run(run_id)["message"] == ""
        assert store.stop_reason(run_id) == ""

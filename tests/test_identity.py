"""The identity rule (mtl_core.execution.identity): which runs are identical, found and counted once.

Keys of made-up stored runs check each part of the rule; a few tiny runs trained into a
temporary store check the lookup (completed runs only, live ones on request), the count
(``dedupe``) and the notes on deleted runs.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mtl_core.data.splits import load_bundle
from mtl_core.execution import identity
from mtl_core.execution.identity import (
    CURVE_VERSION,
    Twins,
    dedupe,
    deleted_notes,
    find_identical,
    identity_key,
    reuse_line,
    run_key,
)
from mtl_core.store.runs import RunStore
from mtl_core.training.trainer import train
from tests.conftest import tiny_config

BASE = tiny_config(aux=["parity"])


def stored(config=BASE, **prov) -> dict:
    """A stored run as ``RunStore.get_run`` returns it, with a complete provenance."""
    provenance = {
        "data_sha256": "d" * 64,
        "torch_threads": config.threads,
        "device": config.device,
        "curve_version": CURVE_VERSION,
        **prov,
    }
    return {"id": 1, "status": "completed", "config": config.to_dict(), "provenance": provenance}


def test_the_key_of_a_stored_run_equals_the_key_of_its_config():
    assert run_key(stored()) == identity_key(BASE, "d" * 64, BASE.threads, BASE.device)
    assert run_key(stored()) == run_key(stored())
    # a stored config from before a field existed gets its default: still the same run
    old = stored()
    del old["config"]["cagrad_c"]
    assert run_key(old) == run_key(stored())


@pytest.mark.parametrize(
    ("what", "other"),
    [
        ("seed", stored(BASE.replace(seed=1))),
        ("data seed", stored(BASE.replace(data_seed=1))),
        ("a config field", stored(BASE.replace(lr=0.01))),
        ("data", stored(data_sha256="e" * 64)),
        ("threads", stored(BASE.replace(threads=2), torch_threads=2)),
        ("recorded threads", stored(torch_threads=2)),
        ("device", stored(device="cuda:0")),
        ("version", stored(curve_version=CURVE_VERSION + 1)),
    ],
)
def test_the_key_differs_when_one_part_differs(what, other):
    assert run_key(other) != run_key(stored()), what


def test_runs_before_the_version_count_as_version_1_until_it_is_bumped(monkeypatch):
    legacy = stored()
    del legacy["provenance"]["curve_version"]
    assert CURVE_VERSION == 1 and run_key(legacy) == run_key(stored())
    monkeypatch.setattr(identity, "CURVE_VERSION", 2)  # a change that alters curves
    assert run_key(legacy) != identity_key(BASE, "d" * 64, BASE.threads, BASE.device)


def test_a_run_without_a_data_hash_is_identical_to_none():
    bare = {**stored(), "provenance": {}}
    assert run_key(bare) is None
    runs = pd.DataFrame([{**bare, "id": 1}, {**bare, "id": 2}])
    assert list(dedupe(runs).id) == [1, 2]


def test_provenance_records_the_curve_version(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(BASE, store=store)
        prov = store.get_run(result.run_id)["provenance"]
    assert prov["curve_version"] == CURVE_VERSION
    assert prov["data_sha256"] == load_bundle("digits").data_hash


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """BASE twice (identical), BASE with seed 1, and a stopped copy of BASE: (path, ids)."""
    path = tmp_path_factory.mktemp("identity") / "runs.sqlite"
    with RunStore(path) as store:
        ids = {
            "first": train(BASE, store=store).run_id,
            "twin": train(BASE, store=store).run_id,
            "seed1": train(BASE.replace(seed=1), store=store).run_id,
        }
        stopped = train(BASE, store=store).run_id
        store.set_status(stopped, "stopped", "stopped by request")
        ids["stopped"] = stopped
    return path, ids


def test_find_identical_returns_the_oldest_completed_twin(trained):
    path, ids = trained
    with RunStore(path) as store:
        assert find_identical(store, BASE) == ids["first"]
        assert find_identical(store, BASE.replace(seed=1)) == ids["seed1"]
        assert find_identical(store, BASE.replace(seed=2)) is None
        assert find_identical(store, BASE.replace(threads=2)) is None
        assert find_identical(store, BASE.replace(data_seed=1)) is None


def test_a_stopped_or_queued_run_is_not_reused_but_a_live_one_is_found_on_request(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        stopped = train(BASE, store=store).run_id
        store.set_status(stopped, "stopped", "stopped by request")
        assert find_identical(store, BASE) is None
        queued = store.create_run(BASE.to_dict(), status="queued")
        assert find_identical(store, BASE) is None
        assert find_identical(store, BASE, live=True) == queued
        # a live run that recorded other data is not the run asked for
        store.set_status(queued, "running")
        store.set_provenance(queued, {"data_sha256": "e" * 64})
        assert find_identical(store, BASE, live=True) is None


def test_identical_runs_count_once(trained):
    path, ids = trained
    with RunStore(path) as store:
        runs = store.runs()
    kept = set(dedupe(runs).id)
    assert ids["twin"] not in kept
    assert {ids["first"], ids["seed1"], ids["stopped"]} <= kept


def test_the_data_hash_is_computed_only_for_a_config_that_is_stored(trained, monkeypatch):
    path, _ = trained
    calls = []
    monkeypatch.setattr(identity, "data_hash_of", lambda c, d=None: calls.append(c) or "x")
    with RunStore(path) as store:
        twins = Twins(store.runs())
    assert twins.find(BASE.replace(seed=5)) is None and calls == []
    twins.find(BASE)
    twins.find(BASE)
    assert len(calls) == 1


def test_notes_and_lines():
    assert deleted_notes([12, 13, 12], [13, 14]) == ["run 12 used by this comparison was deleted"]
    assert deleted_notes([12], [12]) == []
    assert reuse_line([]) == ""
    assert reuse_line([4, 5], "single-task run") == (
        "Reused 2 stored identical single-task runs (#4, #5) instead of training again."
    )

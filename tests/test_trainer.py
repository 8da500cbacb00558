"""Trainer: honest curves, label budgets, soft = single at λ = 0, and every way a run ends."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
import torch

from mtl_core.analysis.summary import best_epoch, rising_since
from mtl_core.config import RunConfig
from mtl_core.data import batching
from mtl_core.data.batching import BatchStream, step_sizes
from mtl_core.data.splits import load_bundle
from mtl_core.data.tasks import Task, get_task
from mtl_core.errors import ConfigError
from mtl_core.methods.weightings.uncertainty import UncertaintyWeighting
from mtl_core.store.runs import RunStore
from mtl_core.training.control import RunControl
from mtl_core.training.loop import _Loop
from mtl_core.training.problem import _Problem, evaluate
from mtl_core.training.results import EpochEvent
from mtl_core.training.trainer import train

CPU = torch.device("cpu")


def make_loop(config: RunConfig) -> _Loop:
    """The trainer's loop without a store, to inspect its model after a run."""
    bundle = load_bundle(config.dataset, config.variant, config.data_seed)
    return _Loop(config, bundle, CPU, None, None, None, RunControl())


def rows_without(result, *skip: tuple[str, str]) -> list[tuple]:
    """All metric rows except the (task, metric) pairs named."""
    return [r for r in result.rows if (r[1], r[3]) not in skip]


def epochs_of(result) -> list[int]:
    return sorted({e for e, _, s, *_ in result.rows if s != "test"})


def all_finite(rows) -> bool:
    return all(math.isfinite(r[-1]) for r in rows)


# -- batching ------------------------------------------------------------------------------


def test_batch_stream_passes_are_permutations_and_depend_only_on_seed_and_size():
    """Each pass over n visits every index once; the stream is fixed by (seed, n)."""
    stream = BatchStream(50, seed=3)
    first = torch.cat([stream.take(16) for _ in range(3)] + [stream.take(2)])
    assert sorted(first.tolist()) == list(range(50))
    crossing = stream.take(60)  # a whole new pass plus the start of another
    assert sorted(crossing[:50].tolist()) == list(range(50))
    again = BatchStream(50, seed=3)
    assert torch.equal(torch.cat([again.take(50), again.take(60)]), torch.cat([first, crossing]))
    assert not torch.equal(BatchStream(50, seed=4).take(50), first)
    assert not torch.equal(BatchStream(51, seed=3).take(50), first)


def test_step_sizes_cover_the_pool_once():
    """An epoch's sub-batches add up to the pool, all full but the last."""
    assert step_sizes(100, 32) == [32, 32, 32, 4]
    assert step_sizes(96, 32) == [32, 32, 32]
    assert step_sizes(10, 64) == [10]


# -- what an epoch records -------------------------------------------------------------------


def test_epoch_zero_is_an_evaluation_before_any_update(make_config):
    """The first event is epoch 0 with 0 steps, and its rows equal an evaluation of the
    untrained model; later events count steps as ceil(pool / batch) per epoch."""
    config = make_config(aux=["parity"], epochs=3, train_size=100, batch_size=32)
    events: list[EpochEvent] = []
    result = train(config, callback=events.append)
    assert [e.epoch for e in events] == [0, 1, 2, 3]
    assert [e.steps for e in events] == [0, 4, 8, 12]
    assert events[0].epochs == 3
    fresh = make_loop(config)
    expected = evaluate(fresh.model, fresh.problem, "train") + evaluate(
        fresh.model, fresh.problem, "val"
    )
    zero = {(t, s, m): v for e, t, s, m, v in result.rows if e == 0}
    for task, split, metric, value in expected:
        assert zero[(task, split, metric)] == value
    assert zero[("_run", "train", "steps")] == 0
    assert ("_total", "train", "objective") not in zero  # nothing trained yet
    assert result.value(3, "_run", "train", "steps") == 12
    assert result.value(3, "_run", "train", "samples") == 300


def test_each_epoch_records_every_task_and_the_bookkeeping(make_config):
    """Per task: train and val loss and metric, the weight and the batch loss; plus the
    weighted objective, wall time, steps and samples."""
    config = make_config(tasks=["digit"], aux=["bbox"], aux_weight=0.25, epochs=2)
    result = train(config)
    keys = {(t, s, m) for e, t, s, m, _ in result.rows if e == 2}
    for task, metric in (("digit", "accuracy"), ("bbox", "mae")):
        for split in ("train", "val"):
            assert {(task, split, "loss"), (task, split, metric)} <= keys
        assert {(task, "train", "weight"), (task, "train", "batch_loss")} <= keys
    assert {
        ("_total", "train", "objective"),
        ("_run", "train", "wall_time"),
        ("_run", "train", "steps"),
        ("_run", "train", "samples"),
    } <= keys
    assert result.value(2, "digit", "train", "weight") == 1.0
    assert result.value(2, "bbox", "train", "weight") == 0.25
    assert not any(t == "digit" and m == "objective" for _, t, _, m, _ in result.rows)


def test_train_metrics_are_an_eval_mode_pass_over_the_labelled_pool(make_config):
    """With dropout, the stored train loss is an eval-mode pass (equal to evaluate() on the
    final weights), not the running batch average, which is stored under its own name."""
    config = make_config(dropout=0.5, epochs=2, train_size=80)
    loop = make_loop(config)
    result = loop.run()
    final = {(t, s, m): v for t, s, m, v in evaluate(loop.model, loop.problem, "train")}
    assert result.value(2, "digit", "train", "loss") == final[("digit", "train", "loss")]
    assert result.value(2, "digit", "train", "accuracy") == final[("digit", "train", "accuracy")]
    assert result.value(2, "digit", "train", "batch_loss") != final[("digit", "train", "loss")]


# -- label budgets -------------------------------------------------------------------------


def record_sampling(monkeypatch) -> tuple[list, list]:
    """Record every index sub-batch the streams hand out and every (task, target) a loss sees."""
    takes: list[tuple[int, torch.Tensor]] = []
    losses: list[tuple[str, torch.Tensor]] = []
    take, loss = batching.BatchStream.take, Task.loss

    def spy_take(self, size):
        out = take(self, size)
        takes.append((self.n, out.clone()))
        return out

    def spy_loss(self, output, target):
        losses.append((self.name, target.clone()))
        return loss(self, output, target)

    monkeypatch.setattr(batching.BatchStream, "take", spy_take)
    monkeypatch.setattr(Task, "loss", spy_loss)
    return takes, losses


def test_label_budgets_keep_the_single_task_steps_and_main_batches(make_config, monkeypatch):
    """digit on 100 labels plus parity/magnitude on 1,000 takes exactly the steps of the
    digit-only baseline, on identical digit sub-batches; the auxiliary sub-batches come from
    their own larger pool and have the same sizes."""
    common = {"epochs": 3, "batch_size": 32, "train_size": 100, "affinity_every": 0}
    baseline_cfg = make_config(tasks=["digit"], task_sizes={"digit": 100}, **common)
    mtl_cfg = make_config(
        tasks=["digit"],
        aux=["parity", "magnitude"],
        task_sizes={"digit": 100, "parity": 1000, "magnitude": 1000},
        **common,
    )

    takes, losses = record_sampling(monkeypatch)
    baseline = train(baseline_cfg)
    base_takes, base_losses = list(takes), list(losses)
    takes.clear()
    losses.clear()
    mtl = train(mtl_cfg)

    steps = [(e, v) for e, t, s, m, v in baseline.rows if (t, m) == ("_run", "steps")]
    assert steps == [(e, v) for e, t, s, m, v in mtl.rows if (t, m) == ("_run", "steps")]
    assert steps[-1] == (3, 12)  # 3 epochs × ceil(100 / 32)

    def main_batches(records):
        return [idx for n, idx in records if n == 100]

    assert len(main_batches(takes)) == 12
    assert all(
        torch.equal(a, b)
        for a, b in zip(main_batches(base_takes), main_batches(takes), strict=True)
    )
    # Longer targets come from the gradient-conflict probe (100 images), not a batch.
    digit_targets = [t for name, t in losses if name == "digit" and len(t) <= 32]
    base_targets = [t for name, t in base_losses if name == "digit" and len(t) <= 32]
    assert len(digit_targets) == len(base_targets) == 12
    assert all(torch.equal(a, b) for a, b in zip(base_targets, digit_targets, strict=True))

    aux = [idx for n, idx in takes if n == 1000]
    assert [len(i) for i in aux] == [len(i) for i in main_batches(takes)]
    drawn = torch.cat(aux)
    assert int(drawn.max()) >= 100 and int(drawn.max()) < 1000  # beyond the main pool
    assert len(set(drawn.tolist())) == len(drawn)  # one pass: no image drawn twice yet
    parity = [t for name, t in losses if name == "parity" and len(t) <= 32]
    truth = get_task("parity").make_target(load_bundle("digits").train)
    assert all(torch.equal(t, truth[i]) for t, i in zip(parity, aux, strict=True))


def test_the_epoch_is_set_by_the_main_pool_not_the_largest(make_config):
    """Auxiliary tasks with larger pools do not lengthen an epoch."""
    config = make_config(
        tasks=["digit"],
        aux=["recon"],
        train_size=50,
        task_sizes={"recon": 1000},
        batch_size=10,
        epochs=2,
    )
    result = train(config)
    assert result.value(1, "_run", "train", "steps") == 5
    assert result.value(2, "_run", "train", "samples") == 100


# -- soft sharing ------------------------------------------------------------------------------


SOFT_SETUP = {
    "tasks": ["digit"],
    "aux": ["parity", "bbox"],
    "task_sizes": {"digit": 80, "parity": 400},
    "dropout": 0.3,
    "depth": 2,
    "epochs": 5,
    "batch_size": 16,
}


def test_soft_sharing_with_lambda_zero_equals_single_bitwise(make_config):
    """Over 5 epochs with dropout, auxiliary tasks and label budgets, soft at λ = 0 and
    single give identical rows, bit for bit (except the penalty row and wall time)."""
    single = train(make_config(sharing="single", **SOFT_SETUP))
    soft = train(make_config(sharing="soft", soft_lambda=0.0, **SOFT_SETUP))
    skip = (("_model", "soft_penalty"), ("_run", "wall_time"))
    single_rows, soft_rows = rows_without(single, *skip), rows_without(soft, *skip)
    assert len(single_rows) > 5 * 20
    assert single_rows == soft_rows
    assert {k: v for k, v in single.summary.items() if k != "elapsed"} == {
        k: v for k, v in soft.summary.items() if k != "elapsed"
    }
    assert any(m == "soft_penalty" for *_, m, _ in soft.rows)


def test_soft_sharing_with_positive_lambda_differs_from_single(make_config):
    """The comparison above is sensitive: λ = 1 changes the curves."""
    single = train(make_config(sharing="single", **SOFT_SETUP))
    soft = train(make_config(sharing="soft", soft_lambda=1.0, **SOFT_SETUP))
    assert single.curve("digit", "val", "loss")[1:] != soft.curve("digit", "val", "loss")[1:]


@pytest.mark.parametrize("penalty", ["l2", "trace"])
def test_soft_penalty_and_trunk_distance_are_recorded_every_epoch(make_config, penalty):
    """Soft runs record the penalty and the mean trunk distance at every epoch, 0 included."""
    result = train(make_config(sharing="soft", soft_penalty=penalty, aux=["parity"], epochs=2))
    for metric in ("soft_penalty", "trunk_distance"):
        values = result.curve("_model", "train", metric)
        assert len(values) == 3 and all(v > 0 for v in values)


def test_a_strong_l2_penalty_pulls_the_trunks_together(make_config):
    """After a few epochs, λ = 1000 leaves the task trunks much closer than λ = 0 does."""
    setup = {"sharing": "soft", "aux": ["parity"], "epochs": 5, "soft_penalty": "l2"}
    free = train(make_config(soft_lambda=0.0, **setup)).curve("_model", "train", "trunk_distance")
    tied = train(make_config(soft_lambda=1000.0, **setup)).curve(
        "_model", "train", "trunk_distance"
    )
    assert free[0] == tied[0]  # same initial trunks
    assert tied[-1] < 0.75 * free[-1]
    assert tied[-1] < tied[0]


# -- weighting and the shuffled control -----------------------------------------------------


def test_uncertainty_weighting_clamps_log_variance():
    """Weights are ½·exp(−s) with s clamped to [−4, 6]; beyond the clamp s gets no gradient."""
    weighting = UncertaintyWeighting(("a", "b"), {"a": 1.0, "b": 1.0})
    with torch.no_grad():
        weighting.log_var.copy_(torch.tensor([-10.0, 10.0]))
    assert weighting.current() == pytest.approx({"a": 0.5 * math.exp(4), "b": 0.5 * math.exp(-6)})
    losses = {"a": torch.tensor(2.0), "b": torch.tensor(3.0)}
    objective = weighting.combine(losses)
    expected = 0.5 * math.exp(4) * 2 - 0.5 * 4 + 0.5 * math.exp(-6) * 3 + 0.5 * 6
    assert float(objective.detach()) == pytest.approx(expected)
    objective.backward()
    assert weighting.log_var.grad.tolist() == [0.0, 0.0]


def test_uncertainty_weighting_trains_and_its_weights_stay_within_the_clamp(make_config):
    """On 50 images the training loss goes to ~0: the learned weights run to the clamp and
    stop there instead of exploding."""
    config = make_config(
        tasks=["digit"],
        aux=["parity"],
        weighting="uncertainty",
        train_size=50,
        width=64,
        batch_size=10,
        lr=0.05,
        epochs=60,
    )
    result = train(config)
    assert result.status == "completed"
    weights = [v for _, t, s, m, v in result.rows if m == "weight"]
    low, high = 0.5 * math.exp(-6), 0.5 * math.exp(4)
    assert all(low * (1 - 1e-6) <= w <= high * (1 + 1e-6) for w in weights)
    assert max(weights) == pytest.approx(high, rel=1e-5)  # the clamp was needed
    assert result.curve("digit", "train", "weight")[0] == 0.5  # s starts at 0


def test_shuffled_control_permutes_auxiliary_targets(make_config):
    """Fraction 1 permutes the aux training targets (same multiset, many moved); 0 leaves them;
    main targets and val/test targets are never shuffled."""
    bundle = load_bundle("digits")
    truth = get_task("parity").make_target(bundle.train)[:400]
    setup = {"tasks": ["digit"], "aux": ["parity"], "task_sizes": {"parity": 400}}
    shuffled = _Problem(make_config(shuffle_aux=1.0, **setup), bundle, CPU)
    kept = _Problem(make_config(shuffle_aux=0.0, **setup), bundle, CPU)
    moved = shuffled.targets[("parity", "train")]
    assert torch.equal(kept.targets[("parity", "train")], truth)
    assert not torch.equal(moved, truth)
    assert (moved != truth).float().mean() > 0.3
    assert torch.equal(moved.sort().values, truth.sort().values)
    for split in ("val", "test"):
        assert torch.equal(shuffled.targets[("parity", split)], kept.targets[("parity", split)])
    assert torch.equal(shuffled.targets[("digit", "train")], kept.targets[("digit", "train")])


def test_shuffle_fraction_is_partial_and_per_task(make_config):
    """A fraction of 0.2 moves at most a fifth of the targets; per-task overrides apply."""
    bundle = load_bundle("digits")
    config = make_config(
        tasks=["digit"],
        aux=["parity", "loops"],
        train_size=500,
        shuffle_aux=0.2,
        aux_shuffle={"loops": 0.0},
    )
    problem = _Problem(config, bundle, CPU)
    truth = get_task("parity").make_target(bundle.train)[:500]
    changed = (problem.targets[("parity", "train")] != truth).sum()
    assert 0 < changed <= 100
    loops = get_task("loops").make_target(bundle.train)[:500]
    assert torch.equal(problem.targets[("loops", "train")], loops)


# -- the summary and the test set ------------------------------------------------------------


def test_test_set_is_used_only_at_each_main_tasks_best_epoch(make_config, tmp_path):
    """'test' rows exist only for main tasks, only at the epoch of their lowest val loss, and
    the summary's test numbers are exactly those rows."""
    config = make_config(
        tasks=["digit", "parity"], aux=["bbox"], epochs=6, train_size=60, width=64, lr=0.01
    )
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(config, store=store)
        stored = store.metrics(result.run_id)
        run = store.get_run(result.run_id)
    test = stored[stored["split"] == "test"]
    main = result.summary["main"]
    assert set(zip(test["epoch"], test["task"], strict=True)) == {
        (s["best_epoch"], t) for t, s in main.items()
    }
    for task, s in main.items():
        val = result.curve(task, "val", "loss")
        assert s["best_epoch"] == best_epoch(val)
        assert s["best_val_loss"] == min(val)
        rows = test[test["task"] == task].set_index("metric")["value"]
        assert rows["loss"] == s["test_loss"] and rows[s["metric"]] == s["test_metric"]
        train_loss = result.value(s["best_epoch"], task, "train", "loss")
        assert s["gap"] == pytest.approx(s["best_val_loss"] - train_loss)
        assert s["rising_since"] == rising_since(val)
    assert run["summary"] == result.summary
    result_test = {(e, t, m): v for e, t, s, m, v in result.rows if s == "test"}
    assert result_test == {
        (e, t, m): v
        for e, t, m, v in test[["epoch", "task", "metric", "value"]].itertuples(index=False)
    }


def test_stored_rows_equal_the_result_and_provenance_is_recorded(make_config, tmp_path):
    """The store holds exactly the rows the trainer returns, plus the run's provenance."""
    config = make_config(aux=["recon"], threads=1)
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(config, store=store, name="probe")
        frame = store.metrics(result.run_id)
        run = store.get_run(result.run_id)
    stored = sorted(
        frame[["epoch", "task", "split", "metric", "value"]].itertuples(index=False, name=None)
    )
    assert stored == sorted(result.rows)
    assert run["status"] == "completed" and run["name"] == "probe"
    assert run["config"] == config.to_dict()
    prov = run["provenance"]
    assert prov["torch_threads"] == 1 and prov["torch"] == torch.__version__
    assert prov["data_sha256"] == load_bundle("digits").data_hash
    assert prov["param_count"] == result.summary["param_count"] > 0


# -- how runs end ------------------------------------------------------------------------------


def test_config_errors_raise_before_a_run_is_created(tmp_path):
    """An invalid config raises ConfigError and leaves no run behind."""
    with RunStore(tmp_path / "runs.sqlite") as store:
        with pytest.raises(ConfigError) as info:
            train(RunConfig(dataset="digits", epochs=0), store=store)
        assert info.value.field == "epochs"
        assert len(store.runs()) == 0


def test_missing_cuda_is_a_config_error_naming_the_device(make_config, monkeypatch):
    """Asking for CUDA where there is none gives a clear 'device' error."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError) as info:
        train(make_config(device="cuda"))
    assert info.value.field == "device" and "cpu" in str(info.value)


def test_too_high_a_learning_rate_ends_as_diverged(make_config, tmp_path):
    """SGD at lr 3 on a wide net blows up: status diverged with a message, no exception,
    and every stored epoch is finite."""
    config = make_config(optimizer="sgd", lr=3.0, width=512, depth=3, batch_size=32, epochs=8)
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(config, store=store)
        run = store.get_run(result.run_id)
        stored = store.metrics(result.run_id)
    assert result.status == run["status"] == "diverged"
    assert "non-finite" in result.message and run["message"] == result.message
    last = stored["epoch"].max()
    assert last < config.epochs
    assert stored["value"].map(math.isfinite).all()
    assert sorted(set(stored["epoch"])) == list(range(last + 1))
    assert f"curves stop at epoch {last}" in result.message


def test_a_non_finite_loss_mid_run_keeps_the_finite_epochs(make_config, monkeypatch):
    """A NaN loss in epoch 3 ends the run as diverged; epochs 0-2 are kept, 3 is not."""
    config = make_config(epochs=6, train_size=64, batch_size=16)  # 4 steps per epoch
    calls = {"n": 0}
    loss = Task.loss

    def poisoned(self, output, target):
        calls["n"] += 1
        value = loss(self, output, target)
        return value * math.nan if calls["n"] == 10 else value  # a batch of epoch 3

    monkeypatch.setattr(Task, "loss", poisoned)
    result = train(config)
    assert result.status == "diverged"
    assert epochs_of(result) == [0, 1, 2]
    assert all_finite(result.rows)
    assert result.summary["main"]["digit"]["best_epoch"] <= 2


def test_stop_from_a_callback_ends_the_run_as_stopped(make_config, tmp_path):
    """control.stop() during epoch 2's callback: status stopped, epochs 0-2 kept, a summary."""
    control = RunControl()

    def on_epoch(event):
        if event.epoch == 2:
            control.stop()

    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(make_config(epochs=10), store=store, control=control, callback=on_epoch)
        assert store.get_run(result.run_id)["status"] == "stopped"
    assert result.status == "stopped" and "epoch 3" in result.message
    assert epochs_of(result) == [0, 1, 2]
    assert result.summary["epochs_run"] == 2


def test_stop_is_honoured_within_one_batch(make_config, monkeypatch):
    """A stop requested during a batch ends the run before the next batch starts."""
    control = RunControl()
    calls = {"n": 0}
    loss = Task.loss

    def stop_on_sixth(self, output, target):
        calls["n"] += 1
        if calls["n"] == 6:  # the second batch of epoch 2
            control.stop()
        return loss(self, output, target)

    monkeypatch.setattr(Task, "loss", stop_on_sixth)
    result = train(make_config(epochs=5, train_size=64, batch_size=16), control=control)
    assert result.status == "stopped"
    assert calls["n"] == 6
    assert epochs_of(result) == [0, 1]


def test_stop_from_another_thread(make_config):
    """A thread that calls stop() while a long run trains ends it early as stopped."""
    control = RunControl()
    started = threading.Event()

    def on_epoch(event):
        if event.epoch >= 1:
            started.set()

    def stopper():
        started.wait(30)
        control.stop()

    thread = threading.Thread(target=stopper)
    thread.start()
    result = train(make_config(epochs=5000), control=control, callback=on_epoch)
    thread.join()
    assert result.status == "stopped"
    assert 1 <= max(epochs_of(result)) < 5000


def test_pause_then_resume_continues_and_completes(make_config, tmp_path):
    """Paused after epoch 1, the run shows 'paused' in the store and trains no further until
    resumed from another thread; then it completes all epochs."""
    control = RunControl()
    seen = {}
    path = tmp_path / "runs.sqlite"

    def on_epoch(event):
        if event.epoch == 1:
            control.pause()

    def watcher(run_id):
        with RunStore(path) as reader:
            deadline = time.monotonic() + 30
            while reader.get_run(run_id)["status"] != "paused" and time.monotonic() < deadline:
                time.sleep(0.02)
            seen["status"] = reader.get_run(run_id)["status"]
            seen["epoch_at_pause"] = reader.last_epoch(run_id)
            time.sleep(0.3)
            seen["epoch_later"] = reader.last_epoch(run_id)
        control.resume()

    config = make_config(epochs=4)
    with RunStore(path) as store:
        run_id = store.create_run(config.to_dict())
        thread = threading.Thread(target=watcher, args=(run_id,))
        thread.start()
        result = train(config, store=store, run_id=run_id, control=control, callback=on_epoch)
        thread.join()
        final = store.get_run(run_id)["status"]
    assert seen == {"status": "paused", "epoch_at_pause": 1, "epoch_later": 1}
    assert result.status == final == "completed"
    assert epochs_of(result) == [0, 1, 2, 3, 4]


def test_early_stopping_restores_the_best_weights(make_config):
    """Early stopping halts before the last epoch, `patience` epochs after the lowest summed
    main validation loss, and leaves the model with that epoch's weights."""
    config = make_config(
        tasks=["digit", "parity"],
        train_size=50,
        width=128,
        depth=2,
        batch_size=10,
        lr=0.01,
        epochs=40,
        early_stop=3,
    )
    loop = make_loop(config)
    result = loop.run()
    summary = result.summary
    assert result.status == "completed" and "stopped early" in result.message
    stopped, restored = summary["stopped_early_at"], summary["restored_epoch"]
    assert stopped < config.epochs and max(epochs_of(result)) == stopped
    summed = [
        a + b
        for a, b in zip(
            result.curve("digit", "val", "loss"), result.curve("parity", "val", "loss"), strict=True
        )
    ]
    assert restored == best_epoch(summed)
    assert stopped - restored == config.early_stop
    now = evaluate(loop.model, loop.problem, "val")
    for task, split, metric, value in now:
        assert value == result.value(restored, task, split, metric)


def test_a_bug_in_a_callback_marks_the_run_failed_and_raises(make_config, tmp_path):
    """An unexpected exception is recorded as status failed in the store, then re-raised."""

    def broken(event):
        if event.epoch == 1:
            raise RuntimeError("boom")

    with RunStore(tmp_path / "runs.sqlite") as store:
        with pytest.raises(RuntimeError, match="boom"):
            train(make_config(), store=store, callback=broken)
        run = store.runs().iloc[0]
        assert run["status"] == "failed" and "boom" in run["message"]
        assert store.last_epoch(int(run["id"])) == 1


# A config whose digit validation loss bottoms out at epoch 10 of 15 (30 images, a wide
# net): its best epoch is not its last, so a test can tell the two apart.
OVERFITS = {
    "train_size": 30,
    "batch_size": 10,
    "lr": 0.01,
    "width": 128,
    "depth": 2,
    "epochs": 15,
    "seed": 1,
}


def digit_predictions(loop: _Loop) -> np.ndarray:
    """The loop's model's digit predictions on the whole validation set."""
    loop.model.eval()
    with torch.inference_mode():
        return loop.model(loop.problem.inputs[("val", False)], "digit").argmax(1).numpy()


def confusion_of(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return np.bincount(true * 10 + pred, minlength=100).reshape(10, 10)


def test_summary_has_the_validation_confusion_matrix_at_the_best_epoch(make_config):
    """Counts add up to the validation set and are the predictions of the best epoch's
    weights, recomputed from a copy of the run that ends at that epoch (not the last
    epoch's, which differ); the misclassified images are errors of those weights."""
    config = make_config(**OVERFITS)
    loop = make_loop(config)
    result = loop.run()
    s = result.summary["main"]["digit"]
    best, last = s["best_epoch"], config.epochs
    assert best < last  # the precondition: best and last are different epochs
    true = load_bundle(config.dataset).val.labels.numpy()
    confusion = np.array(s["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == len(true)
    assert confusion.sum(1).tolist() == np.bincount(true, minlength=10).tolist()
    short = make_loop(make_config(**{**OVERFITS, "epochs": best}))
    short.run()  # same seed and streams: its final weights are the long run's at `best`
    at_best = digit_predictions(short)
    at_last = digit_predictions(loop)  # the loop keeps its last weights after the summary
    assert not np.array_equal(confusion_of(true, at_best), confusion_of(true, at_last))
    assert np.array_equal(confusion, confusion_of(true, at_best))
    assert np.trace(confusion) / len(true) == pytest.approx(s["val_metric"])
    assert s["val_metric"] == result.value(best, "digit", "val", "accuracy")
    wrong = s["misclassified"]
    assert len(wrong) == 16
    for index, label, pred in wrong:
        assert label == true[index] and pred == at_best[index] != label

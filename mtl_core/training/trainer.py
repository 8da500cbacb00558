"""The training loop: read it top to bottom.

``train`` builds the data, model, weighting and optimiser from a config, evaluates once
before any update (epoch 0), then trains epoch by epoch. After every epoch it evaluates
each task on its training pool and on the validation set (in eval mode, so the two are
comparable), commits the epoch to the run store, and hands it to a callback. The test
set is touched once, at the end: each main task is scored at its best validation epoch.

An epoch's rows are ``(task, split, metric, value)``: ``loss`` and the task's metric on
``train`` and ``val``; ``weight`` (the weight each task trained with; for an aggregator,
its mean weight over the epoch's steps) and ``batch_loss``; ``_total``/``objective``;
with a shared trunk, ``_conflict``/``cos:a|b`` (see ``conflict.py``); with cross-stitch,
``_stitch``/``alpha:unit:to:from``; with several trunks, ``_model``/``trunk_distance``;
``_run``/``wall_time``, ``steps``, ``samples``. At the end, trunk features on validation
images are stored as arrays (see ``representation.py``).

Time spent paused counts nowhere: an epoch's ``wall_time``, the callback's ``elapsed`` and
the summary's ``elapsed`` leave it out (the summary's ``paused`` holds it), so a pause
neither inflates the run's time nor the dashboard's estimate of the time left.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from mtl_core.analysis.summary import best_epoch, rising_since
from mtl_core.config import RunConfig, validate
from mtl_core.data.batching import BatchStream, step_sizes
from mtl_core.data.splits import Bundle, load_bundle
from mtl_core.data.tasks import Task, get_task
from mtl_core.errors import ConfigError, MtlError
from mtl_core.methods.weighting import WEIGHTINGS
from mtl_core.models.sharing import PENALTIES, SHARING, mean_trunk_distance
from mtl_core.models.trunks import MultiTaskNet, build_model
from mtl_core.seeds import derive_seed, numpy_rng, torch_generator
from mtl_core.store.runs import Row, RunStore
from mtl_core.training.conflict import PROBE_SIZE, pair_metric, pairwise_cosines, task_gradients
from mtl_core.training.control import RunControl
from mtl_core.training.provenance import provenance
from mtl_core.training.representation import (
    SAMPLES_ARRAY,
    kept_indices,
    spread_indices,
    trunk_features,
)

EVAL_CHUNK = 4096
HEARTBEAT_EVERY = 5.0  # seconds


@dataclass
class EpochEvent:
    """One finished epoch, as committed to the store."""

    run_id: int | None
    epoch: int
    epochs: int  # planned
    rows: list[Row]
    elapsed: float  # seconds of training so far (time spent paused left out)
    steps: int  # optimiser steps so far


@dataclass
class RunResult:
    run_id: int | None
    status: str  # completed | stopped | diverged | failed
    message: str
    summary: dict
    rows: list[tuple[int, str, str, str, float]] = field(default_factory=list)

    def value(self, epoch: int, task: str, split: str, metric: str) -> float:
        for e, t, s, m, v in self.rows:
            if (e, t, s, m) == (epoch, task, split, metric):
                return v
        raise KeyError((epoch, task, split, metric))

    def curve(self, task: str, split: str, metric: str) -> list[float]:
        points = sorted((e, v) for e, t, s, m, v in self.rows if (t, s, m) == (task, split, metric))
        return [v for _, v in points]


def resolve_device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", "CUDA is not available on this machine; use --device cpu")
    return torch.device(name)


class _Problem:
    """The data of one run on its device: inputs per split, targets per task and split."""

    def __init__(self, config: RunConfig, bundle: Bundle, device: torch.device) -> None:
        self.tasks: dict[str, Task] = {name: get_task(name) for name in config.all_tasks}
        self.pool = {name: config.task_size(name) for name in self.tasks}
        self.splits = {"train": bundle.train, "val": bundle.val, "test": bundle.test}
        self.inputs: dict[tuple[str, bool], torch.Tensor] = {}
        self.targets: dict[tuple[str, str], torch.Tensor] = {}
        for split_name, split in self.splits.items():
            for name, task in self.tasks.items():
                key = (split_name, task.masks_input)
                if key not in self.inputs:
                    self.inputs[key] = task.prepare_input(split.images).to(device)
                target = task.make_target(split)
                if split_name == "train":
                    target = target[: self.pool[name]].clone()
                    target = _shuffle_fraction(target, config.shuffle_of(name), config, name)
                self.targets[(name, split_name)] = target.to(device)


def _shuffle_fraction(target: torch.Tensor, fraction: float, config: RunConfig, task: str):
    """Permute the targets of a random ``fraction`` of samples among themselves."""
    count = round(fraction * len(target))
    if count < 2:
        return target
    gen = torch_generator(config.data_seed, "shuffle", task)
    chosen = torch.randperm(len(target), generator=gen)[:count]
    target[chosen] = target[chosen[torch.randperm(count, generator=gen)]]
    return target


def _groups(problem: _Problem, model: MultiTaskNet) -> dict[tuple[str, bool], list[str]]:
    """Tasks that see the same input through the same trunk share one forward pass."""
    groups: dict[tuple[str, bool], list[str]] = {}
    for name, task in problem.tasks.items():
        groups.setdefault((model.trunk_of[name], task.masks_input), []).append(name)
    return groups


@torch.inference_mode()
def evaluate(
    model: MultiTaskNet, problem: _Problem, split: str, only: list[str] | None = None
) -> list[Row]:
    """Mean loss and metric per task; on ``train``, over each task's own labelled pool."""
    model.eval()
    rows: list[Row] = []
    for (trunk_key, masked), names in _groups(problem, model).items():
        names = [n for n in names if only is None or n in only]
        if not names:
            continue
        x = problem.inputs[(split, masked)]
        size = max(problem.pool[n] for n in names) if split == "train" else len(x)
        sums = {n: [torch.zeros(()), torch.zeros(())] for n in names}
        for start in range(0, size, EVAL_CHUNK):
            chunk = x[start : min(size, start + EVAL_CHUNK)]
            feats = model.features(chunk, trunk_key)
            for n in names:
                stop = min(len(chunk), problem.targets[(n, split)].shape[0] - start)
                if stop <= 0:
                    continue
                out = model.head(n, feats)[:stop]
                target = problem.targets[(n, split)][start : start + stop]
                loss, metric = problem.tasks[n].loss_sum_and_metric_sum(out, target)
                sums[n][0] += loss.cpu()
                sums[n][1] += metric.cpu()
        for n in names:
            count = problem.targets[(n, split)].shape[0]
            task = problem.tasks[n]
            rows.append((n, split, "loss", float(sums[n][0]) / count))
            rows.append((n, split, task.metric, float(sums[n][1]) / count))
    return rows


MISCLASSIFIED = 16  # misclassified validation images kept in the summary, per task


@torch.inference_mode()
def mistakes(
    model: MultiTaskNet, problem: _Problem, task: str, seed: int, keep: int = MISCLASSIFIED
) -> dict:
    """Validation confusion matrix (rows: true class) and some misclassified images.

    The images are a seeded choice among the errors, spread over the true classes (the
    validation split may be sorted by class: its first errors would be 0s and 1s only),
    listed round robin over those classes, so any prefix of the list spreads too.
    """
    model.eval()
    x = problem.inputs[("val", problem.tasks[task].masks_input)]
    preds = torch.cat(
        [model(x[i : i + EVAL_CHUNK], task).argmax(1).cpu() for i in range(0, len(x), EVAL_CHUNK)]
    )
    true = problem.targets[(task, "val")].cpu()
    k = len(problem.tasks[task].class_names)
    confusion = torch.bincount(true * k + preds, minlength=k * k).reshape(k, k)
    errors = torch.nonzero(preds != true).flatten().numpy()
    chosen = spread_indices(true.numpy()[errors], keep, numpy_rng(seed, "misclassified", task))
    wrong = errors[chosen]
    return {
        "confusion": confusion.tolist(),
        "misclassified": [[int(i), int(true[i]), int(preds[i])] for i in wrong],
    }


def probe_slice(problem: _Problem, task: str) -> slice:
    """The gradient-conflict probe of a task: the first ``PROBE_SIZE`` images of its pool.

    A prefix, yet spread over every class: the training split is stored in nested order,
    whose every prefix is stratified (see ``data.py``). Keeping it a prefix keeps the
    stored cosines of earlier runs comparable.
    """
    return slice(0, min(problem.pool[task], PROBE_SIZE))


def _all_finite(rows: list[Row]) -> bool:
    return all(math.isfinite(v) for *_, v in rows)


def train(
    config: RunConfig,
    *,
    store: RunStore | None = None,
    run_id: int | None = None,
    name: str = "",
    owner: str = "",
    callback: Callable[[EpochEvent], None] | None = None,
    control: RunControl | None = None,
    data_dir: str | None = None,
) -> RunResult:
    """Train one run. Config and data errors raise before a run is created; after that,
    every outcome (including a bug) is recorded in the store as the run's status."""
    validate(config)
    device = resolve_device(config.device)
    bundle = load_bundle(config.dataset, config.variant, config.data_seed, data_dir)
    if store is not None and run_id is None:
        run_id = store.create_run(config.to_dict(), name=name, owner=owner)
    loop = None
    try:
        loop = _Loop(config, bundle, device, store, run_id, callback, control or RunControl())
        return loop.run()
    except Exception as exc:
        message = str(exc) if isinstance(exc, MtlError) else f"internal error: {exc!r}"
        if loop is not None:
            result = loop.finish("failed", message)
        else:
            if store is not None:
                store.finish(run_id, "failed", message, {}, {})
            result = RunResult(run_id, "failed", message, {})
        if isinstance(exc, MtlError):
            return result
        raise


def _build_model(config: RunConfig, bundle: Bundle, problem: _Problem) -> MultiTaskNet:
    height, width = bundle.image_shape
    common = dict(
        backbone=config.backbone,
        image_shape=bundle.image_shape,
        out_dims={n: t.out_dim(height, width) for n, t in problem.tasks.items()},
        width=config.width,
        depth=config.depth,
        dropout=config.dropout,
        seed=config.seed,
    )
    if config.sharing == "cross-stitch":
        from mtl_core.models.stitch import build_cross_stitch

        return build_cross_stitch(**common, tasks=config.all_tasks, init=config.stitch_init)
    trunk_of = SHARING[config.sharing].trunk_of(config.all_tasks)
    return build_model(**common, trunk_of=trunk_of)


def _last_linear_weight(trunk: nn.Module) -> nn.Parameter:
    return [m for m in trunk.modules() if isinstance(m, nn.Linear)][-1].weight


class _Loop:
    def __init__(self, config, bundle, device, store, run_id, callback, control) -> None:
        self.config, self.store, self.run_id = config, store, run_id
        self.callback, self.control = callback, control
        torch.set_num_threads(config.threads)
        self.problem = _Problem(config, bundle, device)
        sharing = SHARING[config.sharing]
        self.penalty_fn = PENALTIES[config.soft_penalty] if sharing.penalised else None
        self.model = _build_model(config, bundle, self.problem).to(device)
        # Hard sharing has shared parameters: their per-task gradients are compared each
        # epoch (gradient conflict) and are what GradNorm and the aggregators work on.
        hard = "shared" in self.model.trunks and len(config.all_tasks) > 1
        self.shared = list(self.model.trunks["shared"].parameters()) if hard else []
        fixed = {n: config.weight_of(n) for n in config.all_tasks}
        last_shared = _last_linear_weight(self.model.trunks["shared"]) if hard else None
        self.weighting = WEIGHTINGS[config.weighting](
            config.all_tasks,
            fixed,
            temperature=config.dwa_temperature,
            alpha=config.gradnorm_alpha,
            shared=last_shared,
        ).to(device)
        self.aggregator = None
        if config.aggregator != "none":  # torchjd (and cvxpy) load only when asked for
            from mtl_core.methods.aggregation import build_aggregator

            self.aggregator = build_aggregator(config.aggregator, config.cagrad_c)
        stitch = list(getattr(self.model, "stitch_parameters", list)())
        stitch_ids = {id(p) for p in stitch}
        plain = [p for p in self.model.parameters() if id(p) not in stitch_ids]
        groups = [{"params": plain, "weight_decay": config.weight_decay}]
        if stitch:
            groups.append(
                {"params": stitch, "weight_decay": 0.0, "lr": config.lr * config.stitch_lr}
            )
        if list(self.weighting.parameters()):
            groups.append({"params": list(self.weighting.parameters()), "weight_decay": 0.0})
        if config.optimizer == "adam":
            self.optimizer = torch.optim.Adam(groups, lr=config.lr)
        else:
            self.optimizer = torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)
        main_pool = max(self.problem.pool[t] for t in config.tasks)
        self.sizes = step_sizes(main_pool, config.batch_size)
        self.streams = {n: BatchStream(n, config.seed) for n in set(self.problem.pool.values())}
        self.train_groups = {}
        for (trunk_key, masked), names in _groups(self.problem, self.model).items():
            for n in names:
                key = (self.problem.pool[n], masked, trunk_key)
                self.train_groups.setdefault(key, []).append(n)
        self.rows: list[tuple[int, str, str, str, float]] = []
        self.val_losses: dict[str, list[float]] = {t: [] for t in config.tasks}
        self.snapshots: dict[int, dict] = {}
        self.best: dict[str, int] = {}
        self.criterion: list[float] = []
        self.steps = 0
        self.samples = 0
        self.started = time.monotonic()
        self.paused_for = 0.0  # seconds spent paused, left out of every reported time
        self.last_beat = self.started
        self.stopped_early_at: int | None = None
        if store is not None:
            prov = provenance(config.threads, str(device), bundle.data_hash)
            store.set_provenance(run_id, {**prov, "param_count": self.model.param_count()})

    # -- one epoch -------------------------------------------------------------------------

    def _train_epoch(self) -> torch.Tensor | None:
        """One pass over the main pool; None if a stop was requested mid-epoch."""
        model, problem = self.model, self.problem
        model.train()
        running = {n: torch.zeros(()) for n in problem.tasks}
        objective_sum = torch.zeros(())
        self.agg_weights = None
        for size in self.sizes:
            if self.control.paused:
                since = time.monotonic()
                self._set_status("paused")
                self.control.wait_while_paused(self._beat)
                self._set_status("running")
                self.paused_for += time.monotonic() - since
            if self.control.stop_requested:
                return None
            index = {n: stream.take(size) for n, stream in self.streams.items()}
            losses, features = {}, {}
            for (pool, masked, trunk_key), names in self.train_groups.items():
                idx = index[pool]
                feats = model.features(problem.inputs[("train", masked)][idx], trunk_key)
                for n in names:
                    features[n] = feats
                    out = model.head(n, feats)
                    losses[n] = problem.tasks[n].loss(out, problem.targets[(n, "train")][idx])
            objective = self.weighting.combine(losses)
            if self.penalty_fn is not None and self.config.soft_lambda > 0:
                objective = objective + self.config.soft_lambda * self.penalty_fn(model)
            self.optimizer.zero_grad(set_to_none=True)
            if self.aggregator is not None:
                self._aggregated_backward(losses, features)
            else:
                extra = self.weighting.extra_loss(losses)
                (objective if extra is None else objective + extra).backward()
            self.optimizer.step()
            self.weighting.after_step()
            for n, loss in losses.items():
                running[n] += loss.detach()
            objective_sum += objective.detach()
            self.steps += 1
            self.samples += size
            if time.monotonic() - self.last_beat > HEARTBEAT_EVERY:
                self._beat()
        self.batch_losses = {n: float(v) / len(self.sizes) for n, v in running.items()}
        if self.agg_weights is not None:
            self.agg_weights = self.agg_weights / len(self.sizes)
        return objective_sum / len(self.sizes)

    def _aggregated_backward(self, losses: dict[str, torch.Tensor], features: dict) -> None:
        """torchjd: heads get their task's gradient, the shared trunk the aggregated one."""
        from mtl_core.methods.aggregation import aggregated_backward

        tasks = self.config.all_tasks
        fixed = self.weighting.current()
        scaled = [losses[t] if fixed[t] == 1.0 else fixed[t] * losses[t] for t in tasks]
        feats = list({id(f): f for f in (features[t] for t in tasks)}.values())
        heads = [list(self.model.heads[t].parameters()) for t in tasks]
        # PCGrad draws its projection order from torch's global generator: give it a
        # stream of its own, a function of (seed, step) only, so runs stay reproducible.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(self.config.seed, "aggregator", self.steps))
            weights = aggregated_backward(scaled, feats, heads, self.shared, self.aggregator)
        if weights is not None:
            effective = weights.detach() * torch.tensor([fixed[t] for t in tasks])
            self.agg_weights = (
                effective if self.agg_weights is None else self.agg_weights + effective
            )

    def _epoch_rows(self, epoch: int, objective: float | None, wall: float) -> list[Row]:
        rows = evaluate(self.model, self.problem, "train") + evaluate(
            self.model, self.problem, "val"
        )
        weights = self.weighting.current()
        if self.aggregator is not None and objective is not None and self.agg_weights is not None:
            weights = dict(zip(self.config.all_tasks, self.agg_weights.tolist(), strict=True))
        for n, w in weights.items():
            rows.append((n, "train", "weight", w))
        if self.shared:
            for (a, b), cos in self._gradient_cosines().items():
                rows.append(("_conflict", "train", pair_metric(a, b), cos))
        if hasattr(self.model, "mixing"):
            rows += [("_stitch", "train", k, v) for k, v in self.model.mixing().items()]
        if objective is not None:
            rows.append(("_total", "train", "objective", objective))
            rows += [(n, "train", "batch_loss", v) for n, v in self.batch_losses.items()]
        if len(self.model.trunks) > 1:
            rows.append(("_model", "train", "trunk_distance", mean_trunk_distance(self.model)))
        if self.penalty_fn is not None:
            with torch.no_grad():
                rows.append(("_model", "train", "soft_penalty", float(self.penalty_fn(self.model))))
        rows += [
            ("_run", "train", "wall_time", wall),
            ("_run", "train", "steps", self.steps),
            ("_run", "train", "samples", self.samples),
        ]
        return rows

    def _gradient_cosines(self) -> dict[tuple[str, str], float]:
        """Cosines of the task gradients on the shared trunk, on a fixed training probe."""
        model, problem = self.model, self.problem
        model.eval()
        losses = {}
        for (trunk_key, masked), names in _groups(problem, model).items():
            x = problem.inputs[("train", masked)]
            for n in names:
                probe = probe_slice(problem, n)
                out = model.head(n, model.features(x[probe], trunk_key))
                losses[n] = problem.tasks[n].loss(out, problem.targets[(n, "train")][probe])
        ordered = {t: losses[t] for t in self.config.all_tasks}
        return pairwise_cosines(task_gradients(ordered, self.shared))

    def _commit(self, epoch: int, rows: list[Row]) -> None:
        if self.store is not None:
            self.store.append_epoch(self.run_id, epoch, rows)
        self.rows += [(epoch, *row) for row in rows]
        val = {t: v for t, s, m, v in rows if s == "val" and m == "loss"}
        snapshot_needed = False
        for t in self.config.tasks:
            self.val_losses[t].append(val[t])
            if t not in self.best or val[t] < self.val_losses[t][self.best[t]]:
                self.best[t] = epoch
                snapshot_needed = True
        self.criterion.append(sum(val[t] for t in self.config.tasks))
        if best_epoch(self.criterion) == epoch:
            snapshot_needed = True
        if snapshot_needed:
            self.snapshots[epoch] = copy.deepcopy(self.model.state_dict())
            keep = set(self.best.values()) | {best_epoch(self.criterion)}
            self.snapshots = {e: s for e, s in self.snapshots.items() if e in keep}
        if self.callback is not None:
            self.callback(
                EpochEvent(self.run_id, epoch, self.config.epochs, rows, self.elapsed(), self.steps)
            )

    def elapsed(self) -> float:
        """Seconds since training started, without the time spent paused."""
        return time.monotonic() - self.started - self.paused_for

    def run(self) -> RunResult:
        self._commit(0, self._epoch_rows(0, None, 0.0))
        for epoch in range(1, self.config.epochs + 1):
            tic, paused_before = time.monotonic(), self.paused_for
            objective = self._train_epoch()
            if objective is None:
                return self.finish("stopped", f"stopped by request during epoch {epoch}")
            objective = float(objective)
            wall = time.monotonic() - tic - (self.paused_for - paused_before)
            rows = self._epoch_rows(epoch, objective, wall)
            if not (math.isfinite(objective) and _all_finite(rows)):
                return self.finish(
                    "diverged",
                    (
                        f"the loss became non-finite in epoch {epoch} (is lr={self.config.lr:g} too "
                        f"high?); curves stop at epoch {epoch - 1}, the last finite one"
                    ),
                )
            self._commit(epoch, rows)
            # After the rows, so an epoch's weight rows show the weights it trained with.
            self.weighting.epoch_end(self.batch_losses)
            patience = self.config.early_stop
            if patience and epoch - best_epoch(self.criterion) >= patience:
                self.stopped_early_at = epoch
                break
        return self.finish("completed", "")

    # -- the end ---------------------------------------------------------------------------

    def finish(self, status: str, message: str) -> RunResult:
        summary, test_rows = self._summary() if self.criterion else ({}, {})
        if self.stopped_early_at is not None:
            restored = best_epoch(self.criterion)
            self.model.load_state_dict(self.snapshots[restored])
            summary["stopped_early_at"] = self.stopped_early_at
            summary["restored_epoch"] = restored
            message = message or (
                f"stopped early at epoch {self.stopped_early_at}; restored the weights of "
                f"epoch {restored}, the best validation loss"
            )
        if self.store is not None:
            self.store.finish(self.run_id, status, message, summary, test_rows)
        for epoch, rows in test_rows.items():
            self.rows += [(epoch, *row) for row in rows]
        return RunResult(self.run_id, status, message, summary, self.rows)

    def _summary(self) -> tuple[dict, dict[int, list[Row]]]:
        live_state = copy.deepcopy(self.model.state_dict())
        main, test_rows = {}, {}
        by_key = {(e, t, s, m): v for e, t, s, m, v in self.rows}
        for t in self.config.tasks:
            best = self.best[t]
            self.model.load_state_dict(self.snapshots[best])
            rows = evaluate(self.model, self.problem, "test", only=[t])
            test_rows.setdefault(best, []).extend(rows)
            task = self.problem.tasks[t]
            metric = task.metric
            test = {m: v for _, _, m, v in rows}
            main[t] = {
                "best_epoch": best,
                "metric": metric,
                "best_val_loss": by_key[(best, t, "val", "loss")],
                "val_metric": by_key[(best, t, "val", metric)],
                "train_loss": by_key[(best, t, "train", "loss")],
                "train_metric": by_key[(best, t, "train", metric)],
                "gap": by_key[(best, t, "val", "loss")] - by_key[(best, t, "train", "loss")],
                "test_loss": test["loss"],
                "test_metric": test[metric],
                "rising_since": rising_since(self.val_losses[t]),
            }
            if task.is_classification:
                main[t].update(mistakes(self.model, self.problem, t, self.config.data_seed))
        self.model.load_state_dict(live_state)
        self._store_features()
        summary = {
            "main": main,
            "epochs_run": len(self.criterion) - 1,
            "steps": self.steps,
            "param_count": self.model.param_count(),
            "elapsed": round(self.elapsed(), 3),
            "paused": round(self.paused_for, 3),
        }
        return summary, test_rows

    def _store_features(self) -> None:
        """Trunk features on validation images at the best and the latest epoch.

        The images are ``SAMPLES`` validation images spread over every class (see
        ``representation.kept_indices``); their positions are stored as ``samples/val``,
        and row i of every features and labels array belongs to the i-th of them.
        """
        if self.store is None:
            return
        problem = self.problem
        masked = problem.tasks[self.config.tasks[0]].masks_input
        kept = kept_indices(problem.splits["val"].labels.numpy(), self.config.data_seed)
        index = torch.from_numpy(kept)
        images = problem.inputs[("val", masked)]
        x = images[index.to(images.device)]
        rule = "seeded, spread over the classes (representation.kept_indices)"
        meta = {
            "split": "val",
            "count": len(kept),
            "data_seed": self.config.data_seed,
            "rule": rule,
        }
        self.store.put_array(self.run_id, SAMPLES_ARRAY, kept, meta)
        best = best_epoch(self.criterion)
        latest = len(self.criterion) - 1
        for kind, epoch in (("latest", latest), ("best", best)):
            if kind == "best":
                self.model.load_state_dict(self.snapshots[best])
            for key, feats in trunk_features(self.model, x).items():
                meta = {"epoch": epoch, "kind": kind, "trunk": key, "samples": SAMPLES_ARRAY}
                self.store.put_array(self.run_id, f"features/{kind}/{key}", feats, meta)
        for name, task in problem.tasks.items():
            target = problem.targets[(name, "val")].cpu()[index].numpy().astype(np.float32)
            meta = {"task": name, "classes": list(task.class_names)}
            self.store.put_array(self.run_id, f"labels/{name}", target, meta)

    def _beat(self) -> None:
        self.last_beat = time.monotonic()
        if self.store is not None:
            self.store.heartbeat(self.run_id)

    def _set_status(self, status: str) -> None:
        if self.store is not None:
            self.store.set_status(self.run_id, status)

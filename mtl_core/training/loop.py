"""The loop of one run: build the model and its optimiser, train epoch by epoch, finish.

``_Loop`` is what ``train`` (``trainer.py``) runs once the data is loaded and the run
exists: epoch 0 is an evaluation before any update; each epoch trains over the main
pool, evaluates, and commits its rows to the sink; the end scores each main task on the
test set at its best validation epoch (and, for a completed run, once with its last
epoch's weights: ``final_test_*``, training/ending.py) and stores trunk features. It writes only through
the ``RunSink`` calls (``sink.py``), and asks the model only what ``MultiTaskNet``
declares (``shared_trunk``, ``stitch_parameters``, ``mixing``: ``models/trunks.py``).
"""

from __future__ import annotations

import copy
import math
import time

import torch
from torch import nn

from mtl_core.analysis.conflict_text import pair_metric
from mtl_core.analysis.summary import best_epoch
from mtl_core.config import RunConfig
from mtl_core.data.batching import BatchStream, step_sizes
from mtl_core.data.splits import Bundle
from mtl_core.methods import catalog
from mtl_core.methods.optimizers import build_optimizer
from mtl_core.methods.weighting import WEIGHTINGS
from mtl_core.models.sharing import PENALTIES, SHARING, mean_trunk_distance
from mtl_core.models.trunks import MultiTaskNet, build_model
from mtl_core.seeds import derive_seed
from mtl_core.store.schema import Row, Status
from mtl_core.training.affinity import AffinityRecorder
from mtl_core.training.conflict import pairwise_cosines, task_gradients
from mtl_core.training.ending import _Ending
from mtl_core.training.problem import _groups, _Problem, evaluate, probe_slice
from mtl_core.training.provenance import provenance
from mtl_core.training.results import EpochEvent, RunResult

HEARTBEAT_EVERY = 5.0  # seconds
Clock = tuple[float, float]  # (time.monotonic(), seconds paused so far) at an epoch's start


def _all_finite(rows: list[Row]) -> bool:
    return all(math.isfinite(v) for *_, v in rows)


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
        pieces=config.pieces,
    )
    if config.sharing == "cross-stitch":
        from mtl_core.models.stitch import build_cross_stitch

        return build_cross_stitch(**common, tasks=config.all_tasks, init=config.stitch_init)
    trunk_of = SHARING[config.sharing].trunk_of(config.all_tasks)
    shared_layers = config.shared_layers if config.sharing == "hard" else -1
    return build_model(**common, trunk_of=trunk_of, shared_layers=shared_layers)


def _last_linear_weight(trunk: nn.Module) -> nn.Parameter:
    """The last weight layer's weight (a convolution's when only conv blocks are shared)."""
    return [m for m in trunk.modules() if isinstance(m, nn.Linear | nn.Conv2d)][-1].weight


class _Loop(_Ending):
    def __init__(self, config, bundle, device, sink, run_id, callback, control) -> None:
        self.config, self.sink, self.run_id = config, sink, run_id
        self.callback, self.control = callback, control
        torch.set_num_threads(config.threads)
        self.problem = _Problem(config, bundle, device)
        sharing = SHARING[config.sharing]
        self.penalty_fn = PENALTIES[config.soft_penalty] if sharing.penalised else None
        self.model = _build_model(config, bundle, self.problem).to(device)
        # Hard sharing has shared parameters: their per-task gradients are compared each
        # epoch (gradient conflict) and are what GradNorm and the aggregators work on.
        trunk = self.model.shared_trunk() if len(config.all_tasks) > 1 else None
        self.shared = list(trunk.parameters()) if trunk is not None else []
        fixed = {n: config.weight_of(n) for n in config.all_tasks}
        last_shared = _last_linear_weight(trunk) if trunk is not None else None
        declared = catalog.WEIGHTINGS[config.weighting].params  # its hyperparameters
        self.weighting = WEIGHTINGS[config.weighting](
            config.all_tasks,
            fixed,
            shared=last_shared,
            seed=config.seed,
            **{p.arg: getattr(config, p.field) for p in declared},
        ).to(device)
        self.aggregator = None
        if config.aggregator != "none":  # torchjd (and cvxpy) load only when asked for
            from mtl_core.methods.aggregation import build_aggregator

            params = catalog.AGGREGATORS[config.aggregator].params  # its hyperparameters
            self.aggregator = build_aggregator(
                config.aggregator,
                len(config.all_tasks),
                **{p.arg: getattr(config, p.field) for p in params},
            )
        stitch = self.model.stitch_parameters()
        stitch_ids = {id(p) for p in stitch}
        plain = [p for p in self.model.parameters() if id(p) not in stitch_ids]
        groups = [{"params": plain, "weight_decay": config.weight_decay}]
        if stitch:
            groups.append(
                {"params": stitch, "weight_decay": 0.0, "lr": config.lr * config.stitch_lr}
            )
        if list(self.weighting.parameters()):
            groups.append({"params": list(self.weighting.parameters()), "weight_decay": 0.0})
        declared = catalog.OPTIMIZERS[config.optimizer].params  # SGD's momentum
        self.optimizer = build_optimizer(
            config.optimizer,
            groups,
            config.lr,
            **{p.arg: getattr(config, p.field) for p in declared},
        )
        self.affinity = None  # inter-task affinity (TAG), measured on the shared trunk
        if self.shared and config.affinity_every > 0:
            self.affinity = AffinityRecorder(
                config.all_tasks,
                self.model,
                self.shared,
                self.optimizer,
                self._batch_losses,
                config.affinity_every,
            )
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
        if sink is not None:
            prov = provenance(config.threads, str(device), bundle.data_hash)
            sink.set_provenance(run_id, {**prov, "param_count": self.model.param_count()})

    # -- one epoch -------------------------------------------------------------------------

    def _train_epoch(self) -> torch.Tensor | None:
        """One pass over the main pool; None if a stop was requested mid-epoch."""
        model, problem = self.model, self.problem
        model.train()
        running = {n: torch.zeros(()) for n in problem.tasks}
        objective_sum = torch.zeros(())
        self.agg_weights = None
        for batch, size in enumerate(self.sizes):
            if self.control.paused:
                since = time.monotonic()
                self._set_status(Status.PAUSED)
                self.control.wait_while_paused(self._beat)
                self._set_status(Status.RUNNING)
                self.paused_for += time.monotonic() - since
            if self.control.stop_requested:
                return None
            index = {n: stream.take(size) for n, stream in self.streams.items()}
            if self.affinity is not None and self.affinity.wants(batch):
                self.affinity.measure(index)  # before the step, on its batch; changes nothing
            losses, features = self._batch_losses(index)
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
            if self.weighting.wants_losses_after_step:  # the extension point (FAMO-like)
                with torch.no_grad():
                    after, _ = self._batch_losses(index)
                self.weighting.losses_after_step(
                    {n: loss.detach() for n, loss in losses.items()}, after
                )
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
        heads = [self.model.task_parameters(t) for t in tasks]  # heads (and branches)
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

    def _epoch_rows(self, epoch: int, objective: float | None, since: Clock) -> list[Row]:
        """The epoch's rows; its ``wall_time`` counts from ``since`` (the epoch's start and
        the pause time then) to its rows' end, evaluation included: the Live view's
        progress line sums these times and estimates the time left from them, and without
        the evaluation (slower than the training itself on small runs) it said "about 10 s
        left" of a run that ended 16 s later."""
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
        if self.affinity is not None and objective is not None:
            rows += self.affinity.epoch_rows()
        rows += [("_stitch", "train", k, v) for k, v in self.model.mixing().items()]
        if objective is not None:
            rows.append(("_total", "train", "objective", objective))
            rows += [(n, "train", "batch_loss", v) for n, v in self.batch_losses.items()]
        if self.model.task_trunks():
            rows.append(("_model", "train", "trunk_distance", mean_trunk_distance(self.model)))
        if self.penalty_fn is not None:
            with torch.no_grad():
                rows.append(("_model", "train", "soft_penalty", float(self.penalty_fn(self.model))))
        tic, paused_before = since
        wall = time.monotonic() - tic - (self.paused_for - paused_before)
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
        if self.sink is not None:
            self.sink.append_epoch(self.run_id, epoch, rows)
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
        self._commit(0, self._epoch_rows(0, None, (time.monotonic(), self.paused_for)))
        for epoch in range(1, self.config.epochs + 1):
            since = (time.monotonic(), self.paused_for)
            objective = self._train_epoch()
            if objective is None:
                return self.finish(Status.STOPPED, self.control.stop_message(epoch))
            objective = float(objective)
            rows = self._epoch_rows(epoch, objective, since)
            if not (math.isfinite(objective) and _all_finite(rows)):
                return self.finish(
                    Status.DIVERGED,
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
        return self.finish(Status.COMPLETED, "")

    def _batch_losses(self, index: dict) -> tuple[dict, dict]:
        """Every task's loss on this step's batch (``index``: positions per label pool),
        and the trunk features each task's head read."""
        model, problem = self.model, self.problem
        losses, features = {}, {}
        for (pool, masked, trunk_key), names in self.train_groups.items():
            idx = index[pool]
            feats = model.features(problem.inputs[("train", masked)][idx], trunk_key)
            for n in names:
                features[n] = feats
                out = model.head(n, feats)
                losses[n] = problem.tasks[n].loss(out, problem.targets[(n, "train")][idx])
        return losses, features

    def _beat(self) -> None:
        self.last_beat = time.monotonic()
        if self.sink is not None:
            self.sink.heartbeat(self.run_id)

    def _set_status(self, status: str) -> None:
        if self.sink is not None:
            self.sink.set_status(self.run_id, status)

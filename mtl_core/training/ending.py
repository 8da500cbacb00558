"""The end of a run: test scores, the summary, and the features kept for the dashboard.

At the end (completed, stopped, diverged, or failed after its first epoch) each main task
is scored on the test set once, with the weights of its best validation epoch; the
summary gathers those scores with the best epochs' train and validation numbers, the
validation confusion matrix and some misclassified images; trunk features on kept
validation images are stored as arrays (``representation.py``). An early-stopped run has
its best weights restored. A completed run is also scored with the weights it ends with,
those of its last trained epoch, before any restore (``final_test_metric``,
``final_test_loss``): a model trained to the end is deployed with those, so the
early-stopping lesson compares them with the early-stopped model's. Evaluation draws no
random numbers, so neither score changes a curve. Apart from ``loop.py`` because nothing
here trains: it reads the loop's state (``_Ending`` is mixed into ``_Loop``) and writes
through its sink.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from mtl_core.analysis.summary import best_epoch, rising_since
from mtl_core.store.schema import Row, Status
from mtl_core.training.problem import evaluate, mistakes
from mtl_core.training.representation import SAMPLES_ARRAY, kept_indices, trunk_features
from mtl_core.training.results import RunResult


class _Ending:
    """The end of ``_Loop`` (``loop.py``), whose attributes these methods read."""

    def finish(self, status: str, message: str) -> RunResult:
        # Only a completed run ends with the weights of an epoch it recorded: a stopped
        # run is part-way through one, a diverged one holds non-finite weights.
        final = self._final_scores() if self.criterion and status == Status.COMPLETED else {}
        summary, test_rows = self._summary() if self.criterion else ({}, {})
        for t, scores in final.items():
            summary["main"][t].update(scores)
        if self.stopped_early_at is not None:
            restored = best_epoch(self.criterion)
            self.model.load_state_dict(self.snapshots[restored])
            summary["stopped_early_at"] = self.stopped_early_at
            summary["restored_epoch"] = restored
            message = message or (
                f"stopped early at epoch {self.stopped_early_at}; restored the weights of "
                f"epoch {restored}, the best validation loss"
            )
        if self.sink is not None:
            self.sink.finish(self.run_id, status, message, summary, test_rows)
        for epoch, rows in test_rows.items():
            self.rows += [(epoch, *row) for row in rows]
        return RunResult(self.run_id, status, message, summary, self.rows)

    def _final_scores(self) -> dict[str, dict[str, float]]:
        """Each main task's test loss and metric with the weights the run ends with (the
        last trained epoch's), before the best weights are restored or loaded."""
        final = {}
        for t in self.config.tasks:
            rows = evaluate(self.model, self.problem, "test", only=[t])
            test = {m: v for _, _, m, v in rows}
            final[t] = {
                "final_epoch": len(self.criterion) - 1,
                "final_test_loss": test["loss"],
                "final_test_metric": test[self.problem.tasks[t].metric],
            }
        return final

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
        if self.sink is None:
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
        self.sink.put_array(self.run_id, SAMPLES_ARRAY, kept, meta)
        best = best_epoch(self.criterion)
        latest = len(self.criterion) - 1
        for kind, epoch in (("latest", latest), ("best", best)):
            if kind == "best":
                self.model.load_state_dict(self.snapshots[best])
            for key, feats in trunk_features(self.model, x).items():
                meta = {"epoch": epoch, "kind": kind, "trunk": key, "samples": SAMPLES_ARRAY}
                self.sink.put_array(self.run_id, f"features/{kind}/{key}", feats, meta)
        for name, task in problem.tasks.items():
            target = problem.targets[(name, "val")].cpu()[index].numpy().astype(np.float32)
            meta = {"task": name, "classes": list(task.class_names)}
            self.sink.put_array(self.run_id, f"labels/{name}", target, meta)

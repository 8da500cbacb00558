"""The golden matrix: tiny configs covering every registered method, and their records.

A determinism test compares two runs of today's code with each other, so a change that
moves every run the same way (a reordered random draw, a new seed derivation, a changed
loss weight) passes it. The golden records are the outputs of the code as it was when
they were written: ``tests/test_golden.py`` asks today's code for the same numbers, bit
for bit. See docs/golden.md.

A *cell* is a named config (a few fields over ``BASE``). Its *record* holds everything
the run store keeps of the run except timing and prose: its full config and status,
every metric row of every epoch, the test rows, the summary (without ``elapsed`` and
``paused``), and SHA-256 digests of the stored arrays (trunk features, kept samples).
Values are kept as JSON numbers, which ``repr`` writes with full precision, and compared
by ``float.hex``, so -0.0 and 0.0 differ as they should.

The splits are pinned apart from the runs: digests of each dataset's split indices per
data seed, and of every prepared array per variant and data seed.

``coverage_gaps`` derives the lists of names from mtl_core's registries: a method added
to a registry without a golden cell fails the test that calls it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def cpu_capability() -> str:
    """The family of CPU kernels torch runs here (AVX2, AVX512, ...). Float sums come out
    in a different order from one family to the next, so the last bits of a curve do too:
    each family has its own golden curves, written on such a machine."""
    import torch

    return torch.backends.cpu.get_cpu_capability()


def kernel_probe() -> str:
    """Eight hex digits naming how this machine's torch rounds float32 sums: a digest of
    the sums of squares of fixed random vectors, sized as the golden cells' layers.

    Why: one torch family is not one rounding. On an Intel Xeon with AMX (2026-12-05),
    torch 2.13.0 reported AVX512 as on the machines that wrote and checked the AVX512
    curves, and trained the single-task cell to the same losses, bit for bit, yet summed
    the same 1,024 squares of a trunk distance to another last bit (the bits it gave match an
    exact sum rounded; the AVX512 file's match four or 64 running partial sums); over all
    the cells a few hundred values and the features' digests differed. A machine like that gets its
    own file, named by this probe; the others keep their family's file. Only torch's own
    reductions run here (no BLAS), so the probe reads the same in a pinned golden run
    and in the test's process.
    """
    import torch

    generator = torch.Generator().manual_seed(20261205)
    sums = [
        (torch.rand(n, generator=generator) - 0.5).pow(2).sum()
        for n in (16, 60, 256, 784, 1024, 4096, 12544)
        for _ in range(4)
    ]
    return hashlib.sha256(torch.stack(sums).numpy().tobytes()).hexdigest()[:8]


def machine_curves_file() -> Path:
    """The curves file of this machine's rounding (written with ``--this-machine``)."""
    return HERE / f"curves-{cpu_capability()}-{kernel_probe()}.json"


def curves_file() -> Path:
    """This machine's golden curves: its own rounding's file if there is one
    (``kernel_probe``), else its torch family's."""
    own = machine_curves_file()
    return own if own.exists() else HERE / f"curves-{cpu_capability()}.json"


CURVES_FILE = curves_file()

SPLITS_FILE = HERE / "splits.json"  # numpy and integer work: the same on every family

# numpy's OpenBLAS picks its kernels by CPU model, not by the family above. On an AMD EPYC
# whose OpenBLAS chose its SkylakeX kernels, Nash-MTL's bargaining solve (cvxpy and ECOS,
# in numpy) left other last bits in the run's features than the AVX512 goldens hold; with
# Haswell (or Zen) kernels that machine reproduced every golden bit. Golden runs pin those
# kernels: they run in a fresh process, and OpenBLAS reads the variable when it loads.
# Every AVX2 or AVX512 CPU can run Haswell kernels.
# torch's own matrix products run in Intel's MKL, which picks its code path by CPU model
# too: on an Intel Xeon with AMX (AVX512 to torch) the rotated images' affine grids (a
# batched product) came out in other last bits than splits.json holds (which AVX2 and
# AVX512 machines both reproduced before); capped at its AVX2 path it reproduced them, as
# its AVX512 or AVX512_E1 paths did not.
BLAS_KERNELS = {"OPENBLAS_CORETYPE": "Haswell", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def pinned_environ() -> dict[str, str]:
    """The environment a golden run's process starts with: this one, BLAS kernels pinned."""
    return {**os.environ, **BLAS_KERNELS}


def blas_kernels() -> str:
    """The kernels numpy's OpenBLAS chose in this process (shown when records differ)."""
    import threadpoolctl

    chosen = {
        lib.get("architecture", "?")
        for lib in threadpoolctl.threadpool_info()
        if lib.get("internal_api") == "openblas"
    }
    return "+".join(sorted(chosen)) or "none"


# Timing measures the machine, not the run: these stored numbers are left out.
TIMING_ROWS = frozenset({"wall_time"})
TIMING_SUMMARY = frozenset({"elapsed", "paused"})
# A completed run's scores of its last epoch's weights (``final_*``, training/ending.py)
# came after the AVX512 file was written, on a machine that cannot write it again; they
# are left out. What pins them: the series pin those weights' training and validation
# rows, the pinned ``test_metric``/``test_loss`` run the same evaluation code, and
# tests/test_early_stopping_claim.py checks the scores themselves.
LATER_TASK_SUMMARY = frozenset({"final_test_metric", "final_test_loss", "final_epoch"})
# Prose that a refactor may reword (it cites module names): the run's message is left
# out too; its numbers are in the summary.
PROSE = frozenset({"rule"})

BASE: dict[str, Any] = {
    # Affinity is measured off the trained path (tests/test_affinity.py shows the curves
    # are bitwise the same with it on): the cells keep to the training numbers.
    "affinity_every": 0,
    "dataset": "digits",
    "train_size": 60,
    "tasks": ["digit"],
    "width": 16,
    "depth": 1,
    "batch_size": 16,
    "epochs": 2,
    "threads": 1,
}

# Each cell names what it is there for; several cells combine features.
CELLS: dict[str, dict[str, Any]] = {
    "single-mlp": {"sharing": "single", "aux": ["parity"], "task_sizes": {"parity": 30}},
    "hard-fixed-sgd": {
        "aux": ["parity", "loops"],
        "aux_weight": 0.5,
        "aux_weights": {"loops": 2.0},
        "optimizer": "sgd",
        "lr": 0.05,
        "momentum": 0.8,
        "weight_decay": 1e-3,
    },
    "hard-equal": {"weighting": "equal", "aux": ["magnitude"], "aux_weight": 0.3},
    "hard-uncertainty": {"weighting": "uncertainty", "aux": ["bbox"]},
    "hard-dwa": {"weighting": "dwa", "aux": ["parity"], "epochs": 3, "dwa_temperature": 1.5},
    "hard-gradnorm": {"weighting": "gradnorm", "aux": ["parity", "recon"], "gradnorm_alpha": 1.0},
    "hard-rlw": {"weighting": "rlw", "aux": ["parity", "loops"]},
    "hard-si": {"weighting": "si", "aux": ["magnitude"]},
    "soft-l2": {"sharing": "soft", "soft_penalty": "l2", "soft_lambda": 50.0, "aux": ["parity"]},
    "soft-trace": {
        "sharing": "soft",
        "soft_penalty": "trace",
        "soft_lambda": 0.01,
        "aux": ["magnitude"],
        "depth": 2,
    },
    "cross-stitch": {
        "sharing": "cross-stitch",
        "aux": ["parity"],
        "depth": 2,
        "stitch_init": 0.8,
        "stitch_lr": 5.0,
    },
    "aggregator-mgda": {"aggregator": "mgda", "aux": ["parity"]},
    # Three tasks: PCGrad's random projection order matters only with more than two.
    "aggregator-pcgrad": {"aggregator": "pcgrad", "aux": ["parity", "loops"]},
    "aggregator-upgrad": {"aggregator": "upgrad", "aux": ["parity"], "aux_weight": 0.5},
    "aggregator-cagrad": {
        "aggregator": "cagrad",
        "aux": ["parity"],
        "cagrad_c": 0.4,
        "weighting": "equal",
    },
    "aggregator-nashmtl": {"aggregator": "nashmtl", "aux": ["parity"], "nash_max_norm": 2.0},
    "aggregator-alignedmtl": {"aggregator": "alignedmtl", "aux": ["parity", "loops"]},
    "aggregator-imtlg": {"aggregator": "imtlg", "aux": ["magnitude"], "aux_weight": 0.5},
    # Three tasks: GradVac visits the other tasks in a random order.
    "aggregator-gradvac": {
        "aggregator": "gradvac",
        "aux": ["parity", "loops"],
        "gradvac_beta": 0.1,
    },
    "aggregator-graddrop": {"aggregator": "graddrop", "aux": ["parity"]},  # random masks
    "aggregator-dualproj": {"aggregator": "dualproj", "aux": ["parity"], "weighting": "equal"},
    "aggregator-fairgrad": {"aggregator": "fairgrad", "aux": ["parity"], "fairgrad_alpha": 2.0},
    "aggregator-config": {"aggregator": "config", "aux": ["parity", "loops"]},
    "aggregator-excessmtl": {"aggregator": "excessmtl", "aux": ["parity"], "excess_step": 0.5},
    "aggregator-rgw": {"aggregator": "rgw", "aux": ["parity", "loops"]},
    "hard-famo": {
        "weighting": "famo",
        "aux": ["parity", "loops"],
        "epochs": 3,
        "famo_lr": 0.05,
        "famo_decay": 0.001,
    },
    "cnn-hard-masked": {"backbone": "cnn", "aux": ["quadrant"], "width": 8},
    "maxout-hard-dropout": {
        "backbone": "maxout",
        "pieces": 3,
        "aux": ["parity"],
        "depth": 2,
        "dropout": 0.2,
    },
    "maxout-cross-stitch": {"backbone": "maxout", "sharing": "cross-stitch", "aux": ["loops"]},
    # Sharing depth: the first K layers shared, then a branch per task.
    "shared-layers-mlp": {"shared_layers": 1, "aux": ["parity", "loops"], "depth": 2},
    "shared-layers-cnn-gradnorm": {
        "backbone": "cnn",
        "shared_layers": 1,
        "weighting": "gradnorm",
        "aux": ["magnitude"],
        "width": 8,
    },
    "shared-layers-upgrad": {
        "shared_layers": 2,
        "aggregator": "upgrad",
        "aux": ["parity"],
        "depth": 3,
        "dropout": 0.2,
    },
    "cnn-cross-stitch": {
        "backbone": "cnn",
        "sharing": "cross-stitch",
        "aux": ["magnitude"],
        "width": 8,
    },
    "variant-rotated": {"variant": "rotated", "aux": ["angle"]},
    "variant-noisy": {"variant": "noisy", "aux": ["bbox", "recon"], "data_seed": 1},
    "variant-multi": {"variant": "multi", "tasks": ["left", "right"], "aux": ["bbox"]},
    "mnist-5k-multi-cnn": {
        "dataset": "mnist-5k",
        "variant": "multi",
        "tasks": ["left", "right"],
        "backbone": "cnn",
        "train_size": 40,
        "width": 8,
        "batch_size": 20,
    },
    "label-budgets": {
        "aux": ["parity", "magnitude"],
        "task_sizes": {"digit": 40, "parity": 100, "magnitude": 12},
    },
    "aux-shuffles": {
        "aux": ["parity", "magnitude"],
        "shuffle_aux": 0.5,
        "aux_shuffle": {"magnitude": 1.0},
    },
    # Stops at epoch 10 and restores epoch 8 (test_golden checks that it still does).
    "early-stop": {"early_stop": 2, "epochs": 12, "lr": 0.1, "width": 32},
    "dropout": {"dropout": 0.3, "aux": ["parity"], "depth": 2, "seed": 7},
    # Needs Debian's dataset-fashion-mnist (CI installs it): see ``needs_files``.
    "fashion-class-group": {"dataset": "fashion-mnist", "tasks": ["class"], "aux": ["group"]},
}

# Datasets no golden cell or split fingerprint uses, and why.
NOT_COVERED = {
    "mnist": "no installable package ships the full MNIST files (only a download does); "
    "its loader is the IDX reader that fashion-mnist exercises",
}
INSTALL_HINT = {
    "fashion-mnist": "apt-get install dataset-fashion-mnist (CI installs it in .ci/run)",
}


def needs_files(name: str) -> str | None:
    """The dataset a cell reads from files that are not shipped with a Python package."""
    from mtl_core.data.datasets import get_dataset

    dataset = {**BASE, **CELLS[name]}["dataset"]
    return None if get_dataset(dataset).offline else dataset


def missing_files(dataset: str) -> str | None:
    """None when ``dataset`` can be loaded here, else a one-line message with the fix."""
    from mtl_core.data.datasets import get_dataset
    from mtl_core.data.download import find_idx_dir

    if get_dataset(dataset).offline or find_idx_dir(dataset) is not None:
        return None
    fix = INSTALL_HINT.get(dataset, f"python -m mtl_core download {dataset}")
    return f"{dataset} files not found: {fix}"


def config_of(name: str):
    from mtl_core.config import from_dict

    return from_dict({**BASE, **CELLS[name]})


# -- coverage -------------------------------------------------------------------------------


def registered() -> dict[str, tuple[str, ...]]:
    """Every name the registries know, per axis of the matrix."""
    from mtl_core import config
    from mtl_core.data import datasets, tasks, variants
    from mtl_core.methods import aggregation, weighting
    from mtl_core.models import sharing
    from mtl_core.models import trunks as models

    return {
        "sharing": tuple(config.SHARING_MODES) + tuple(sharing.SHARING),
        "soft_penalty": tuple(config.SOFT_PENALTIES) + tuple(sharing.PENALTIES),
        "backbone": tuple(config.BACKBONES) + tuple(models.BACKBONE_BUILDERS),
        "weighting": tuple(weighting.WEIGHTINGS),
        "aggregator": tuple(config.AGGREGATORS) + tuple(aggregation.AGGREGATORS),
        "variant": tuple(variants.VARIANTS),
        "optimizer": tuple(config.OPTIMIZERS),
        "dataset": tuple(n for n in datasets.DATASETS if n not in NOT_COVERED),
        "task": tuple(tasks.TASKS),
    }


FEATURES = {
    "task_sizes": lambda c: bool(c.task_sizes),
    "shuffle_aux": lambda c: c.shuffle_aux > 0,
    "aux_shuffle": lambda c: any(v > 0 for v in c.aux_shuffle.values()),
    "aux_weights": lambda c: bool(c.aux_weights),
    "early_stop": lambda c: c.early_stop > 0,
    "dropout": lambda c: c.dropout > 0,
    "weight_decay": lambda c: c.weight_decay > 0,
    "seed": lambda c: c.seed != 0,
    "data_seed": lambda c: c.data_seed != 0,
}


def covered(config) -> dict[str, set[str]]:
    """The names a config exercises on each axis of ``registered``."""
    out = {
        "sharing": {config.sharing},
        "backbone": {config.backbone},
        "weighting": {config.weighting},
        "aggregator": {config.aggregator},
        "variant": {config.variant},
        "optimizer": {config.optimizer},
        "dataset": {config.dataset},
        "task": set(config.all_tasks),
        "soft_penalty": {config.soft_penalty} if config.sharing == "soft" else set(),
    }
    out["feature"] = {name for name, used in FEATURES.items() if used(config)}
    return out


def coverage_gaps() -> list[str]:
    """``axis: name`` for every registered name (and listed feature) no cell exercises."""
    seen: dict[str, set[str]] = {}
    for name in CELLS:
        for axis, names in covered(config_of(name)).items():
            seen.setdefault(axis, set()).update(names)
    wanted = {**registered(), "feature": tuple(FEATURES)}
    return [
        f"{axis}: {name}"
        for axis, names in wanted.items()
        for name in dict.fromkeys(names)
        if name not in seen.get(axis, set())
    ]


# -- records --------------------------------------------------------------------------------


def digest(array) -> str:
    """SHA-256 of an array's bytes, dtype and shape: ``dtype[shape]:hex``."""
    import numpy as np

    array = np.ascontiguousarray(array)
    shape = "x".join(map(str, array.shape))
    return f"{array.dtype.str}[{shape}]:{hashlib.sha256(array.tobytes()).hexdigest()}"


def run_cell(name: str) -> dict[str, Any]:
    """Train one cell into a throw-away store and return what the store holds of it."""
    import torch

    from mtl_core.store.runs import RunStore
    from mtl_core.training.trainer import train

    torch.set_num_threads(1)
    config = config_of(name)
    with tempfile.TemporaryDirectory() as tmp, RunStore(Path(tmp) / "runs.sqlite") as store:
        result = train(config, store=store)
        run_id = result.run_id
        table = store.metrics(run_id)
        run = store.get_run(run_id)
        arrays = {a: store.get_array(run_id, a) for a in store.array_names(run_id)}
    epochs = int(table["epoch"].max()) + 1
    series: dict[str, list[float | None]] = {}
    for epoch, task, split, metric, value in table[
        ["epoch", "task", "split", "metric", "value"]
    ].itertuples(index=False, name=None):
        if metric in TIMING_ROWS:
            continue
        key = f"{task}/{split}/{metric}"
        series.setdefault(key, [None] * epochs)[int(epoch)] = float(value)
    summary = {k: v for k, v in run["summary"].items() if k not in TIMING_SUMMARY}
    if isinstance(summary.get("main"), dict):
        summary["main"] = {
            task: {k: v for k, v in scores.items() if k not in LATER_TASK_SUMMARY}
            for task, scores in summary["main"].items()
        }
    return {
        "config": config.to_dict(),
        "status": run["status"],
        "series": dict(sorted(series.items())),
        "summary": summary,
        "arrays": {
            a: {"digest": digest(x), "meta": {k: v for k, v in meta.items() if k not in PROSE}}
            for a, (x, meta) in arrays.items()
        },
    }


def run_cells(names: list[str] | None = None) -> dict[str, Any]:
    return {name: run_cell(name) for name in names or CELLS}


# -- splits ---------------------------------------------------------------------------------

DATA_SEEDS = (0, 1)


def split_datasets() -> list[str]:
    """The datasets whose splits are pinned: all but ``NOT_COVERED``."""
    from mtl_core.data.datasets import DATASETS

    return [name for name in DATASETS if name not in NOT_COVERED]


def split_fingerprint(dataset: str) -> dict[str, Any]:
    """Digests of the split indices per data seed, and of every prepared array per
    variant and data seed (images, labels and the variant's extra labels)."""
    from mtl_core.data import splits as data
    from mtl_core.data.datasets import get_dataset, load_raw
    from mtl_core.data.variants import VARIANTS

    spec = get_dataset(dataset)
    raw = load_raw(dataset)
    out: dict[str, Any] = {"raw": {"images": digest(raw.images), "labels": digest(raw.labels)}}
    for seed in DATA_SEEDS:
        train, val, test = data.split_indices(raw.labels, spec.val_size, spec.test_size, seed)
        out[f"seed {seed}"] = {
            "indices": {"train": digest(train), "val": digest(val), "test": digest(test)}
        }
        for variant in VARIANTS:
            bundle = data.load_bundle(dataset, variant, seed)
            arrays = {}
            for part in ("train", "val", "test"):
                split = getattr(bundle, part)
                arrays[f"{part}/images"] = digest(split.images.numpy())
                arrays[f"{part}/labels"] = digest(split.labels.numpy())
                for key in sorted(split.extras):
                    arrays[f"{part}/{key}"] = digest(split.extras[key].numpy())
            out[f"seed {seed}"][variant] = arrays
            data._cache.pop((dataset, variant, seed, None), None)  # full datasets are large
    return out


def split_fingerprints(datasets: list[str] | None = None) -> dict[str, Any]:
    return {name: split_fingerprint(name) for name in datasets or split_datasets()}


# -- comparison -----------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a.hex() == b.hex() or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def differences(old: Any, new: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any, Any]]:
    """``(path, old, new)`` for every leaf that differs, in the stored order; a missing
    side is ``MISSING``."""
    if path[-1:] == ("series",) and isinstance(old, dict) and isinstance(new, dict):
        yield from _series_differences(old, new, path)  # epoch by epoch: earliest first
    elif isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            yield from differences(old.get(key, MISSING), new.get(key, MISSING), (*path, key))
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            a = old[i] if i < len(old) else MISSING
            b = new[i] if i < len(new) else MISSING
            yield from differences(a, b, (*path, i))
    elif not _same(old, new):
        yield path, old, new


def _series_differences(old: dict, new: dict, path: tuple) -> Iterator[tuple[tuple, Any, Any]]:
    rows = list(old) + [k for k in new if k not in old]
    epochs = max((len(v) for v in [*old.values(), *new.values()]), default=0)
    for epoch in range(epochs):
        for row in rows:
            a, b = (_point(side.get(row), epoch) for side in (old, new))
            if not _same(a, b):
                yield (*path, row, epoch), a, b


def _point(curve: list | None, epoch: int) -> Any:
    return MISSING if curve is None or epoch >= len(curve) else curve[epoch]


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


MISSING = _Missing()


def describe(path: tuple, old: Any, new: Any) -> str:
    """One line naming the place: cell, epoch and row for a curve point."""
    if len(path) == 4 and path[1] == "series":
        cell, _, row, epoch = path
        where = f"cell {cell!r}, epoch {epoch}, row {row!r}"
    else:
        where = " / ".join(map(str, path))
    return f"{where}: golden {_show(old)}, now {_show(new)}"


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value!r} ({value.hex()})"
    text = json.dumps(value) if not isinstance(value, _Missing) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def report(old: Any, new: Any, limit: int = 20) -> list[str]:
    """Lines describing the first ``limit`` differences, and how many there are."""
    found = list(differences(old, new))
    lines = [describe(*d) for d in found[:limit]]
    if len(found) > limit:
        lines.append(f"... and {len(found) - limit} more differences")
    return lines


def environment() -> dict[str, str]:
    """The software the records were written with: shown when they no longer match."""
    import numpy
    import sklearn
    import torch

    return {
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "cpu_capability": cpu_capability(),
        "openblas_kernels": blas_kernels(),
        "mkl_instructions": os.environ.get("MKL_ENABLE_INSTRUCTIONS", "as MKL chose"),
        "kernel_probe": kernel_probe(),
    }

"""mtl-curves: learning curves of multi-task learning, as a Python API.

The public API is the names in ``__all__``, documented in docs/api.md::

    import mtl_core

    sink = mtl_core.MemorySink()
    result = mtl_core.train(mtl_core.RunConfig(dataset="digits", epochs=2), sink=sink)
    sink.metrics(result.run_id)  # the store's long format, as a DataFrame

Each name is imported on first use (PEP 562 ``__getattr__``), so ``import mtl_core``
loads nothing else: the dashboard server, which never trains, stays free of torch. Every
other module and name in the package is private by convention: it may change without
notice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_API = {  # public name -> (module, its name there)
    "RunConfig": ("mtl_core.config", "RunConfig"),
    "MtlError": ("mtl_core.errors", "MtlError"),
    "ConfigError": ("mtl_core.errors", "ConfigError"),
    "train": ("mtl_core.training.trainer", "train"),
    "RunResult": ("mtl_core.training.results", "RunResult"),
    "EpochEvent": ("mtl_core.training.results", "EpochEvent"),
    "RunControl": ("mtl_core.training.control", "RunControl"),
    "RunSink": ("mtl_core.training.sink", "RunSink"),
    "MemorySink": ("mtl_core.training.sink", "MemorySink"),
    "RunStore": ("mtl_core.store.runs", "RunStore"),
    "seed_configs": ("mtl_core.studies.replicates", "seed_configs"),
    "run_configs": ("mtl_core.execution.parallel", "run_configs"),
    "baseline_config": ("mtl_core.studies.tuned_baseline", "baseline_config"),
    "compare_arms": ("mtl_core.studies.comparison", "compare_arms"),
    "learning_curve": ("mtl_core.studies.learning_curve", "learning_curve"),
    "sharing_depth": ("mtl_core.studies.sharing_depth", "sharing_depth"),
    "load_sweep": ("mtl_core.studies.sweep", "load_sweep"),
    "parse_sweep": ("mtl_core.studies.sweep", "parse_sweep"),
    "plan_sweep": ("mtl_core.studies.sweep_runner", "plan_sweep"),
    "run_sweep": ("mtl_core.studies.sweep_runner", "execute"),
    "LocalBackend": ("mtl_core.studies.sweep_runner", "LocalBackend"),
}

__all__ = [  # the same names as _API (a test checks)
    "ConfigError",
    "EpochEvent",
    "LocalBackend",
    "MemorySink",
    "MtlError",
    "RunConfig",
    "RunControl",
    "RunResult",
    "RunSink",
    "RunStore",
    "baseline_config",
    "compare_arms",
    "learning_curve",
    "load_sweep",
    "parse_sweep",
    "plan_sweep",
    "run_configs",
    "run_sweep",
    "seed_configs",
    "sharing_depth",
    "train",
]

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load lazily
    from mtl_core.config import RunConfig
    from mtl_core.errors import ConfigError, MtlError
    from mtl_core.execution.parallel import run_configs
    from mtl_core.store.runs import RunStore
    from mtl_core.studies.comparison import compare_arms
    from mtl_core.studies.learning_curve import learning_curve
    from mtl_core.studies.replicates import seed_configs
    from mtl_core.studies.sharing_depth import sharing_depth
    from mtl_core.studies.sweep import load_sweep, parse_sweep
    from mtl_core.studies.sweep_runner import LocalBackend, plan_sweep
    from mtl_core.studies.sweep_runner import execute as run_sweep
    from mtl_core.studies.tuned_baseline import baseline_config
    from mtl_core.training.control import RunControl
    from mtl_core.training.results import EpochEvent, RunResult
    from mtl_core.training.sink import MemorySink, RunSink
    from mtl_core.training.trainer import train


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'mtl_core' has no attribute {name!r}")
    module, attribute = _API[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    """The public names (loaded or not) and the module's dunders; helpers stay hidden."""
    return sorted({*__all__, *(n for n in globals() if n.startswith("__"))})

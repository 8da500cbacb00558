"""Loss weighting: how per-task losses become one training objective, by name.

Each weighting lives in a module of its own under ``methods/weightings/``: its declaration
(``METHOD``: name, help, paper, hyperparameters) and its ``Weighting`` subclass. This
module gathers the implementations by the declared names, in the catalog's order, so that
a new weighting needs no edit here (docs/extending.md). The trainer builds one as
``WEIGHTINGS[name](tasks, fixed, shared=..., seed=..., **declared hyperparameters)``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from mtl_core.methods import catalog
from mtl_core.methods.weightings._base import Weighting

PACKAGE = "mtl_core.methods.weightings"
FOLDER = Path(__file__).parent / "weightings"


def implementation(module_name: str) -> tuple[str, type[Weighting]]:
    """A weighting module's declared name and its one ``Weighting`` subclass."""
    module = importlib.import_module(f"{PACKAGE}.{module_name}")
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Weighting)
        and value.__module__ == module.__name__
    ]
    if len(classes) != 1:
        raise TypeError(f"{module.__name__} defines {len(classes)} Weighting classes, not one")
    return module.METHOD.name, classes[0]


def _implementations() -> dict[str, type[Weighting]]:
    found = dict(implementation(path.stem) for path in sorted(FOLDER.glob("[!_]*.py")))
    return {name: found[name] for name in catalog.WEIGHTINGS}


WEIGHTINGS: dict[str, type[Weighting]] = _implementations()

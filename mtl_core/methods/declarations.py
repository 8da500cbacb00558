"""What a method's declaration holds, and how a method in a file of its own is read.

A ``Method`` is a name, one line of help, a paper and its hyperparameters (``Param``: the
``RunConfig`` field, its default, its range and how it is shown). ``methods/catalog.py``
holds the tables of every kind; a loss weighting is declared in its own module under
``methods/weightings/`` beside its implementation (``METHOD = Method(...)``), so that a new
weighting is one new file plus its test (docs/extending.md).

Why the declarations of those modules are *read* (parsed with ``ast``), not imported: a
weighting's implementation is a torch module, and the dashboard's server process checks
configs and draws the controls without torch (a test asserts the page never imports it).
Only ``Method(...)`` and ``Param(...)`` calls with literal arguments are evaluated, so a
declaration reads the same whether parsed here or imported by the trainer (a test checks
that for every file).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Param:
    """A hyperparameter: a ``RunConfig`` field, its range and how it is shown."""

    field: str  # the RunConfig field (and, with dashes, the CLI flag)
    label: str  # the sidebar's label
    low: float
    high: float
    step: float
    help: str
    arg: str = ""  # the implementation's keyword argument, if it takes one
    named: tuple[tuple[int, str], ...] = ()  # whole values shown by a word (-1 -> "all")
    high_open: bool = False  # ``high`` itself is refused (momentum: 0 <= m < 1)
    # The RunConfig field's default (its type too: a whole number makes an int field);
    # configs saved before the field existed read it with this value.
    default: float = field(kw_only=True)

    def show(self, value: float) -> str:
        """How the sidebar shows ``value``: its name if it has one."""
        return dict(self.named).get(value, f"{value:g}")

    def holds(self, value: float) -> bool:
        """Whether ``value`` is in the declared range (config validation asks this)."""
        below = value < self.high if self.high_open else value <= self.high
        return self.low <= value and below

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")


@dataclass(frozen=True)
class Method:
    name: str
    help: str  # a few words, shown beside the name in menus
    paper: str = ""  # author(s) and year, e.g. "Kendall et al. 2018"
    params: tuple[Param, ...] = ()
    caption: str = ""  # what its panel in Insights shows (weightings: the weight lines)
    # Aggregators: False when it builds the update without weighting the task gradients
    # (GradDrop, ConFIG), so there are no task weights for Insights to draw.
    reports_weights: bool = True
    order: int = 100  # the place in menus of a method declared in a file of its own

    def describe(self) -> str:
        """``name — help (paper)`` for menus and CLI help."""
        paper = f" ({self.paper})" if self.paper else ""
        return f"{self.name} — {self.help}{paper}"


def table_of(*methods: Method) -> dict[str, Method]:
    return {m.name: m for m in methods}


def declared_in(folder: Path) -> dict[str, Method]:
    """Each module's ``METHOD`` in ``folder`` (modules whose name starts with ``_`` hold
    shared parts, not methods), in menu order: by ``order``, then by name."""
    methods = [read_method(path) for path in sorted(folder.glob("[!_]*.py"))]
    return table_of(*sorted(methods, key=lambda m: (m.order, m.name)))


def read_method(path: Path) -> Method:
    """The ``METHOD = Method(...)`` declaration of one module, without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["METHOD"]
            and isinstance(node.value, ast.Call)
        ):
            code = compile(ast.Expression(node.value), str(path), "eval")
            return eval(code, {"__builtins__": {}, "Method": Method, "Param": Param})  # noqa: S307
    raise ValueError(f"{path}: no top-level METHOD = Method(...) declaration")

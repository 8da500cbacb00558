"""The layers of ``mtl_core`` import one way only, as docs/architecture.md draws them.

Every module under ``mtl_core`` is parsed with ``ast`` (nothing is imported), including
the imports inside functions (lazy imports) and under ``TYPE_CHECKING``, so an upward
import cannot hide in a function body. The rules:

- a module imports only its own layer or the layers below it (the ranks in ``RANKS``);
- no import cycle between modules, lazy imports included;
- no module over ``MAX_LINES`` lines;
- every subpackage has an ``__init__.py`` whose docstring says what the layer is;
- nothing outside ``mtl_core/dashboard`` imports ``mtl_core.dashboard``, except the
  harnesses that drive the page: the entry scripts ``dashboard/*.py``, ``tests/``,
  ``bench/`` and ``docs/screenshots.py``.

A new module or subpackage has to be given a rank here (and a row in
docs/architecture.md): an unplaced module fails the first test with its name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mtl_core"
MAX_LINES = 400

# Foundation modules at the top of mtl_core rank 0; every other entry is a layer (a module
# belongs to its longest dotted prefix here).
RANKS = {
    "mtl_core": 8,  # the package's __init__: the public API (docs/api.md), beside the CLI
    "mtl_core.errors": 0,
    "mtl_core.paths": 0,
    "mtl_core.user_files": 0,
    "mtl_core.seeds": 0,
    "mtl_core.written": 0,
    "mtl_core.data": 1,
    "mtl_core.models": 2,
    "mtl_core.methods": 2,
    "mtl_core.config": 3,
    "mtl_core.limits": 3,
    "mtl_core.store": 4,
    "mtl_core.analysis": 4,
    "mtl_core.training": 5,
    "mtl_core.execution": 6,
    "mtl_core.studies": 7,
    "mtl_core.cli": 8,
    "mtl_core.__main__": 8,  # ``python -m mtl_core``: the CLI's entry
    "mtl_core.dashboard": 9,
}

# Outside mtl_core/dashboard, only these may import the dashboard (they drive the page).
DASHBOARD_HARNESSES = ("dashboard/", "tests/", "bench/", "docs/screenshots.py")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (the most specific one that exists)
    line: int
    lazy: bool  # inside a function

    def __str__(self) -> str:
        where = "lazy import" if self.lazy else "import"
        return f"{self.source} ({self.path()}:{self.line}) {where}s {self.target}"

    def path(self) -> str:
        return str(module_path(self.source).relative_to(ROOT))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_path(name: str) -> Path:
    base = ROOT.joinpath(*name.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def modules() -> dict[str, Path]:
    return {
        module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts
    }


MODULES = modules()


def rank(name: str) -> int | None:
    """The rank of the layer ``name`` belongs to (its longest prefix in RANKS)."""
    if name == "mtl_core":
        return RANKS[name]
    parts = name.split(".")
    for end in range(len(parts), 1, -1):  # never the bare package: a new module needs a rank
        prefix = ".".join(parts[:end])
        if prefix in RANKS:
            return RANKS[prefix]
    return None


def target_rank(name: str) -> int | None:
    """The rank of an imported module. The bare package ``mtl_core`` ranks 0 as a target:
    importing it loads no layer (its names resolve lazily, PEP 562; checked below), so
    ``import mtl_core`` for the package's folder is allowed anywhere."""
    return 0 if name == "mtl_core" else rank(name)


def resolve(name: str) -> str:
    """The most specific existing module of a dotted name (``pkg.module.function`` -> module)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in MODULES:
            return prefix
    return name


def _absolute(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, source: str) -> Iterator[Import]:
    """Every mtl_core import in ``path``, module-level or lazy, as resolved modules."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, lazy: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                module = _absolute(child, source, is_package)
                # ``from pkg import name``: name may be a submodule or an attribute
                names = [f"{module}.{alias.name}" for alias in child.names]
            elif (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute | ast.Name)
                and getattr(child.func, "attr", getattr(child.func, "id", "")) == "import_module"
                and child.args
                and isinstance(child.args[0], ast.Constant)
                and isinstance(child.args[0].value, str)
            ):
                names = [child.args[0].value]
            for name in names:
                if name == "mtl_core" or name.startswith("mtl_core."):
                    yield Import(source, resolve(name), child.lineno, lazy)
            yield from visit(child, inner)

    yield from visit(tree, False)


def all_imports() -> list[Import]:
    return [imp for name, path in MODULES.items() for imp in imports_of(path, name)]


def test_every_module_belongs_to_a_layer():
    unplaced = [name for name in MODULES if rank(name) is None]
    assert not unplaced, (
        f"modules in no layer: {', '.join(unplaced)}; give each a rank in RANKS "
        "(tests/test_layers.py) and a row in docs/architecture.md"
    )


def test_imports_only_go_down_the_layers():
    upward = [
        f"{imp} (rank {rank(imp.source)} -> rank {target_rank(imp.target)})"
        for imp in all_imports()
        if rank(imp.source) is not None
        and target_rank(imp.target) is not None
        and target_rank(imp.target) > rank(imp.source)
    ]
    assert not upward, "imports that go up the layers:\n  " + "\n  ".join(upward)


def test_importing_the_package_loads_no_layer():
    """``import mtl_core`` runs only the package's __init__: no layer may load there at
    run time (imports under ``if TYPE_CHECKING:`` are for type checkers only)."""
    init = PACKAGE / "__init__.py"
    loaded = []
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                break  # a function body runs on use, not on import
            if isinstance(child, ast.ImportFrom | ast.Import):
                names = [child.module or ""] if isinstance(child, ast.ImportFrom) else []
                names += [a.name for a in child.names] if isinstance(child, ast.Import) else []
                loaded += [f"line {child.lineno}: {n}" for n in names if n.startswith("mtl_core")]
    assert not loaded, "mtl_core/__init__.py loads layers on import: " + "; ".join(loaded)


def find_cycles(edges: dict[str, dict[str, Import]]) -> list[list[Import]]:
    """One cycle per strongly connected component of more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan; the graph is small, recursion is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            components.append(component)

    for node in sorted(edges):
        if node not in index:
            connect(node)

    cycles = []
    for component in components:
        members = set(component)
        start = min(component)
        if len(component) == 1 and start not in edges.get(start, {}):
            continue
        # breadth-first from start back to start, inside the component: a shortest cycle
        previous: dict[str, str] = {}
        queue, seen, end = [start], {start}, None
        while queue and end is None:
            node = queue.pop(0)
            for nxt in sorted(edges.get(node, {})):
                if nxt == start:
                    previous[start], end = node, node
                    break
                if nxt in members and nxt not in seen:
                    seen.add(nxt)
                    previous[nxt] = node
                    queue.append(nxt)
        path = [start]
        node = previous[start]
        while node != start:
            path.append(node)
            node = previous[node]
        path.append(start)
        path.reverse()
        cycles.append([edges[a][b] for a, b in zip(path, path[1:], strict=False)])
    return cycles


def test_no_import_cycles_between_modules():
    edges: dict[str, dict[str, Import]] = {}
    for imp in all_imports():
        if imp.target in MODULES and imp.target != "mtl_core":  # the bare package loads nothing
            edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    cycles = find_cycles(edges)
    report = [
        " -> ".join([cycle[0].source] + [imp.target for imp in cycle])
        + "\n    "
        + "\n    ".join(str(imp) for imp in cycle)
        for cycle in cycles
    ]
    assert not cycles, "import cycles:\n  " + "\n  ".join(report)


def test_no_module_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in MODULES.values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them): " + ", ".join(
        f"{path} ({n})" for path, n in sorted(long.items(), key=lambda item: -item[1])
    )


def test_every_subpackage_has_an_init_with_a_docstring():
    missing = []
    for folder in sorted(p for p in PACKAGE.rglob("*") if p.is_dir()):
        if folder.name == "__pycache__" or not any(folder.glob("*.py")):
            continue
        init = folder / "__init__.py"
        rel = str(init.relative_to(ROOT))
        if not init.is_file():
            missing.append(f"{rel} is missing")
        elif not (ast.get_docstring(ast.parse(init.read_text())) or "").strip():
            missing.append(f"{rel} has no docstring")
    assert not missing, "subpackages without a described __init__: " + "; ".join(missing)


def test_nothing_outside_the_dashboard_imports_it():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if (
            rel.startswith((".", "data/"))
            or "/." in rel
            or rel.startswith("mtl_core/dashboard/")
            or rel.startswith(DASHBOARD_HARNESSES)
        ):
            continue
        source = module_name(path) if rel.startswith("mtl_core/") else rel
        for imp in imports_of(path, source):
            if imp.target == "mtl_core.dashboard" or imp.target.startswith("mtl_core.dashboard."):
                offenders.append(f"{rel}:{imp.line} imports {imp.target}")
    assert not offenders, "imports of the dashboard from outside it:\n  " + "\n  ".join(offenders)


def _imports_streamlit(path: Path) -> int | None:
    """The line of ``path``'s first streamlit import (module-level or lazy), or None."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        if any(name == "streamlit" or name.startswith("streamlit.") for name in names):
            return node.lineno
    return None


def test_no_figure_module_imports_streamlit():
    """Figures are pure functions of data frames (docs/architecture.md): no ``st.*``, not
    even through a module of mtl_core they import, so they are tested without a page."""
    edges: dict[str, set[str]] = {}
    for imp in all_imports():  # importing a.b.c also runs the packages a and a.b
        parts = imp.target.split(".")
        prefixes = {".".join(parts[:end]) for end in range(1, len(parts) + 1)}
        edges.setdefault(imp.source, set()).update(prefixes)
    figures = [name for name in MODULES if name.startswith("mtl_core.dashboard.figures")]
    assert figures, "no modules under mtl_core/dashboard/figures/"
    offenders = []
    for figure in figures:
        chain, seen, todo = {figure: [figure]}, {figure}, [figure]
        while todo:
            name = todo.pop()
            line = _imports_streamlit(MODULES[name])
            if line is not None:
                via = " -> ".join(chain[name])
                offenders.append(f"{MODULES[name].relative_to(ROOT)}:{line} ({via})")
                continue
            for target in sorted(edges.get(name, ())):
                if target in MODULES and target not in seen:
                    seen.add(target)
                    chain[target] = [*chain[name], target]
                    todo.append(target)
    assert not offenders, "figure code reaches streamlit:\n  " + "\n  ".join(offenders)

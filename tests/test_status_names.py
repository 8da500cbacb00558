"""A run's status names are typed once, in ``mtl_core/store/schema.py`` (``Status``).

SQL is where a copy hides most easily (``WHERE status = 'queued'``): every string in
``mtl_core`` outside ``schema.py`` is parsed with ``ast`` and none may quote a status
name; statements take ``Status`` values as parameters instead.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mtl_core.store.schema import STATUSES

ROOT = Path(__file__).resolve().parents[1]
QUOTED = re.compile("'(" + "|".join(str(s) for s in STATUSES) + ")'")


def test_no_sql_string_types_a_status_name():
    found = []
    for path in sorted((ROOT / "mtl_core").rglob("*.py")):
        if path.name == "schema.py" and path.parent.name == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for match in QUOTED.finditer(node.value):
                    rel = path.relative_to(ROOT).as_posix()
                    found.append(f"{rel}:{node.lineno} types {match.group(0)}")
    assert not found, "status names typed in strings (use Status values):\n  " + "\n  ".join(found)

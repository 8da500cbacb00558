"""Where a benchmark's numbers go: one JSON file under bench/out/ (git-ignored).

Every benchmark printed what it measured and then wrote the same numbers the same way, in
three lines copied into each of them; they now call ``write_results``.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_results(path: Path, result: dict) -> None:
    """Write ``result`` to ``path`` as JSON (values it cannot encode as their text) and say
    where, relative to the checkout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")

"""Write generated text between ``<!-- name -->`` and ``<!-- /name -->`` in the docs.

The benchmarks and effect-size scripts put what they measured into the README's pages this
way, so the pages quote their output rather than numbers typed by hand. A block lives in
exactly one page, README.md or one of docs/*.md; ``page_of`` finds it, so a block can
move between pages without touching the scripts (``tests/test_readme.py`` checks that
every block a script writes is found).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# The blocks the scripts in bench/ write, and the script that writes each.
WRITTEN = {
    "preset-effects": "bench/preset_effects.py",
    "lambda-table": "bench/lambda_sweep.py",
    "method-table": "bench/method_effects.py",
}


def pages(root: Path = ROOT) -> list[Path]:
    """README.md and every page under docs/, the places a block may live."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def page_of(name: str, candidates: list[Path] | None = None) -> Path:
    """The one page that holds the block ``name``."""
    holders = [p for p in candidates or pages() if f"<!-- {name} -->" in p.read_text()]
    if len(holders) != 1:
        where = ", ".join(p.name for p in holders) or "no page"
        raise SystemExit(
            f"the <!-- {name} --> block must be in exactly one page of README.md and "
            f"docs/*.md; found in {where}"
        )
    return holders[0]


def replace_block(name: str, text: str, page: Path | None = None) -> None:
    page = page or page_of(name)
    content = page.read_text()
    pattern = re.compile(rf"<!-- {name} -->.*?<!-- /{name} -->", re.S)
    block = f"<!-- {name} -->\n{text.strip()}\n<!-- /{name} -->"
    if not pattern.search(content):
        raise SystemExit(f"{page.name} has no complete <!-- {name} --> ... <!-- /{name} --> block")
    page.write_text(pattern.sub(lambda _: block, content))

"""Write generated text between ``<!-- name -->`` and ``<!-- /name -->`` in README.md.

The benchmarks and effect-size scripts put what they measured into the README this way,
so the README quotes their output rather than numbers typed by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def replace_block(name: str, text: str, readme: Path = README) -> None:
    content = readme.read_text()
    pattern = re.compile(rf"<!-- {name} -->.*?<!-- /{name} -->", re.S)
    block = f"<!-- {name} -->\n{text.strip()}\n<!-- /{name} -->"
    if not pattern.search(content):
        raise SystemExit(f"README.md has no <!-- {name} --> block")
    readme.write_text(pattern.sub(lambda _: block, content))

"""Streamlit's one-time work for the page happens when the launcher imports the page's
modules at server start (mtl_core/dashboard/serve.py), not in the first page's script run:
the page's icon is an emoji, and the first ``set_page_config`` of a process imports
Streamlit's emoji table, which compiles a regex of every emoji (issue "fast from the first
click"; bench/profile_page.py shows where a page load's time goes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_importing_the_page_compiles_the_emoji_table():
    code = "import sys; import mtl_core.dashboard.app; print('streamlit.emojis' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "True", "the page's import leaves it out"


def test_the_page_icon_needs_the_emoji_table():
    from streamlit.string_util import is_emoji

    from mtl_core.dashboard.app import PAGE_ICON

    assert not PAGE_ICON.isascii() and is_emoji(PAGE_ICON)

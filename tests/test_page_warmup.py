"""Streamlit's one-time work for the page happens at server start (the launcher's
``lifespan``, mtl_core/dashboard/serve.py), not in the first page's script run: the page's
icon is an emoji, and the first ``set_page_config`` of a process imports Streamlit's emoji
table, which compiles a regex of every emoji; the first element of a process walks the
stack to ask whether Streamlit runs in a REPL (issue "fast from the first click";
bench/profile_page.py shows where a page load's time goes)."""

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


def test_the_first_element_after_server_start_does_not_walk_the_stack():
    # the launcher's lifespan (its forkserver left out), then what the first element of the
    # first page does: Streamlit's once-per-process "not run with streamlit run" check
    code = """
import asyncio, inspect
from mtl_core.dashboard import serve
serve.forkserver.start = lambda **kwargs: None
serve.forkserver.close = lambda: None
walks = []
stack = inspect.stack
inspect.stack = lambda *a, **k: walks.append(1) or stack(*a, **k)
async def first_page():
    async with serve.lifespan(None):
        from streamlit import delta_generator
        delta_generator._maybe_print_use_warning()
asyncio.run(first_page())
print(len(walks))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "0", "the first element walks the stack"

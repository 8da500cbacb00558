"""Polling with a deadline, for tests that wait on worker processes or a server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    context: Callable[[], str] | None = None,
    every: float = 0.05,
) -> Any:
    """The first truthy ``check()``; after ``timeout`` seconds, fail naming ``what``
    (and ``context()``, e.g. the runs in the store, to show where things stood)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    detail = f"; {context()}" if context else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")

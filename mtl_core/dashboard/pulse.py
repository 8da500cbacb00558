"""The pulse of open pages: the browser tells the server a page is still open.

A run started from a page is stopped once its page is gone (``RunManager.check``), so the
server must hear from every open page, whatever the page is doing. A Streamlit fragment
timer was the first way, and it failed twice: its element came last on the page, so a
script run cut short by a click never drew it and its next tick wrote to a node the
browser had dropped (blank pages, "Bad delta path index", with ten pages on one server);
drawn first, its timer restarted with every script run and a busy server's slow runs let
no tick through, so an open tab lost its run. The pulse now runs outside the script: a
timer in the page's own JavaScript (``widgets/keepalive.py``) posts to the launcher's
``mtl/alive`` route (``serve.py``), which calls :func:`beat`; a closed tab stops its timer.

This module is the meeting point of the route (in the server) and the run managers (made
by the page): it holds no Streamlit and no torch, so the route can import it at start-up.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

_lock = threading.Lock()
_listeners: weakref.WeakSet = weakref.WeakSet()


def listen(manager: object) -> None:
    """Let ``manager`` hear the pulse: ``manager.seen(owner)`` on every beat (weakly held,
    so a manager that is dropped stops listening)."""
    with _lock:
        _listeners.add(manager)


def beat(owner: str) -> int:
    """A page of ``owner`` is open; returns how many managers heard it."""
    with _lock:
        listeners: list = list(_listeners)
    seen: list[Callable[[str], None]] = [m.seen for m in listeners]
    for call in seen:
        call(owner)
    return len(seen)

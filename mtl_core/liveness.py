"""Is the process that trains a run still alive? Asked without waiting for a heartbeat.

A run says ``running`` until its process says otherwise; a process killed by the OS says
nothing. The heartbeat catches that after a minute (and stays the rule across hosts, e.g.
Ray), but on the machine that trained the run the answer is at hand: the run records who
trains it, and an opener of the store checks whether that process still exists.

A pid alone proves nothing (pids are reused), so a process is named by its host, the
kernel's boot id, its pid namespace, its pid and its start time (in clock ticks since
boot, from ``/proc/<pid>/stat``). Only when host, boot and namespace are this process's
own can the answer be "dead"; anywhere else, or without ``/proc``, it is "unknown" and the
heartbeat decides.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
from pathlib import Path

_PROC = Path("/proc")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _start_time(pid: int) -> tuple[str, str] | None:
    """(state, start time) of ``pid``, or None if there is no such process."""
    stat = _read(_PROC / str(pid) / "stat")
    if stat is None:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (command)", which may hold spaces
    return fields[0], fields[19]  # state, starttime (fields 3 and 22 of proc(5))


@functools.cache
def _machine() -> dict[str, str | None]:
    """What places this process: host, boot and pid namespace (fixed for its life)."""
    namespace = None
    with contextlib.suppress(OSError):
        namespace = os.readlink(_PROC / "self" / "ns" / "pid")
    return {
        "host": socket.gethostname(),
        "boot": _read(_PROC / "sys" / "kernel" / "random" / "boot_id"),
        "pidns": namespace,
    }


def this_process() -> str:
    """This process's identity, as JSON for the store (empty without ``/proc``)."""
    machine = _machine()
    own = _start_time(os.getpid())
    if own is None or machine["boot"] is None:
        return ""
    return json.dumps({**machine, "pid": os.getpid(), "start": own[1]}, sort_keys=True)


def is_dead(identity: str) -> bool:
    """True only when ``identity`` names a process of this machine that no longer exists
    (gone, a zombie, or its pid now taken by a process that started at another time)."""
    if not identity:
        return False
    try:
        who = json.loads(identity)
        pid, start = int(who["pid"]), str(who["start"])
    except (ValueError, KeyError, TypeError):
        return False
    machine = _machine()
    if machine["boot"] is None or any(who.get(k) != v for k, v in machine.items()):
        return False  # another host, boot or namespace: the heartbeat decides
    now = _start_time(pid)
    return now is None or now[0] in ("Z", "X") or now[1] != start

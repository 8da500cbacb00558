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


class _Unknown(Exception):
    """``/proc`` could not say (no permission, hidden processes): not an answer of "gone"."""


def _read(path: Path) -> str | None:
    """The file's text; None if it does not exist (the process is gone)."""
    try:
        return path.read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError as exc:
        raise _Unknown(str(exc)) from None


def _start_time(pid: int | str) -> tuple[int, str, str] | None:
    """(pid, state, start time) of ``pid`` ("self" for this process), or None if gone."""
    stat = _read(_PROC / str(pid) / "stat")
    if stat is None:
        return None
    head, rest = stat.rsplit(")", 1)  # "pid (command" and the rest: the command may hold ")"
    fields = rest.split()
    return int(head.split(" (", 1)[0]), fields[0], fields[19]  # fields 1, 3 and 22 of proc(5)


@functools.cache
def _machine() -> dict[str, str | None]:
    """What places this process: host, boot and pid namespace (fixed for its life)."""
    namespace = None
    with contextlib.suppress(OSError):
        namespace = os.readlink(_PROC / "self" / "ns" / "pid")
    try:
        boot = _read(_PROC / "sys" / "kernel" / "random" / "boot_id")
    except _Unknown:
        boot = None
    return {
        "host": socket.gethostname(),
        "boot": boot,
        "pidns": namespace,
    }


def this_process() -> str:
    """This process's identity, as JSON for the store; empty where ``/proc`` cannot say
    (none, or one of another pid namespace: its ``self`` is not this process)."""
    try:
        machine = _machine()
        own = _start_time("self")
    except _Unknown:
        return ""
    if own is None or own[0] != os.getpid() or machine["boot"] is None:
        return ""
    return json.dumps({**machine, "pid": os.getpid(), "start": own[2]}, sort_keys=True)


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
    try:
        machine = _machine()
        if machine["boot"] is None or any(who.get(k) != v for k, v in machine.items()):
            return False  # another host, boot or namespace: the heartbeat decides
        now = _start_time(pid)
    except _Unknown:  # e.g. /proc mounted with hidepid: another user's process is hidden
        return False
    return now is None or now[1] in ("Z", "X") or now[2] != start

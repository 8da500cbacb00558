"""Where the test suite's time goes, one module at a time.

``make test`` runs every test in one pytest process; when it is slow, running it again
whole to find out why costs as much again and says little. This runs each module that
holds ``slow`` tests on its own (``-m slow``), then, unless told not to, the fast tests
once (``-m "not slow"``), and prints each part's wall time, largest first, with the
slowest tests of each (pytest's ``--durations``). Other work on the machine lengthens
every number: say the load average beside them (it is printed at the start and end).

Run: ``.venv/bin/python bench/suite_time.py [--no-fast] [tests/test_presets.py ...]``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLOW_MARK = re.compile(r"mark\.slow\b")
DURATION = re.compile(r"^\s*([\d.]+)s (call|setup|teardown)\s+(\S.*)$")


def slow_modules() -> list[str]:
    """Every test module (relative to the checkout) that marks a test slow."""
    found = [
        p
        for p in sorted((ROOT / "tests").rglob("test_*.py"))
        if SLOW_MARK.search(p.read_text(encoding="utf-8"))
    ]
    return [str(p.relative_to(ROOT)) for p in found]


def timed(args: list[str], top: int) -> tuple[float, str, list[str]]:
    """(wall seconds, pytest's last line, its ``top`` slowest test phases)."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += [f"--durations={top}", *args]
    tic = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - tic
    lines = done.stdout.strip().splitlines()
    slowest = [line.strip() for line in lines if DURATION.match(line)][:top]
    return wall, (lines[-1] if lines else done.stderr.strip()[-200:]), slowest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="only these modules (default: every slow one)")
    parser.add_argument("--no-fast", action="store_true", help="skip the fast tests' run")
    parser.add_argument("--top", type=int, default=5, help="slowest tests shown per part")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    parts = [(m, ["-m", "slow", m]) for m in args.modules or slow_modules()]
    if not args.no_fast:
        parts.append(("fast tests", ["-m", "not slow"]))
    results = []
    for name, pytest_args in parts:
        wall, last, slowest = timed(pytest_args, args.top)
        print(f"{wall:8.1f} s  {name}: {last}", flush=True)
        results.append((wall, name, slowest))
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    print(f"total {sum(r[0] for r in results):.1f} s; largest first:")
    for wall, name, slowest in sorted(results, reverse=True):
        print(f"{wall:8.1f} s  {name}")
        for line in slowest:
            print(f"            {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

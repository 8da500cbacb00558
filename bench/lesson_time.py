"""Benchmark: how long a class waits from Run to the verdict of a lesson, in a real browser.

docs/lessons.md says how long a Run of each lesson takes; the lesson page is judged by
it ("Sharing helps" at the default seeds: target 45 s or less, 15 runs on 2 worker
slots). This starts a fresh dashboard through its launcher (``dashboard/serve.py``, as
``make dashboard`` does) on an empty temporary MTL_DATA_ROOT, as a fresh clone's, opens
``/?lesson=SLUG`` in headless Chromium, presses Run at the lesson's default number of
seeds (full-length runs: no ``epochs=`` in the link) and times from the click to the
first curve drawn and to the verdict (the "Verdict" heading and the handout button).
The code served is a copy of this checkout taken at the start, so edits made meanwhile
do not make Streamlit reload modules mid-measurement.

It prints the lesson, the seeds, the runs, the worker slots (``MTL_MAX_RUNS``), the load
average before and after, both times, the target with met/missed, and from the run store
each arm's training time per run and how many runs trained at once, which says where a
missed target's time went.

    .venv/bin/python bench/lesson_time.py [--lesson sharing-helps] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_ui import Server, descendants, proc_table, snapshot  # noqa: E402
from mtl_core.limits import Limits  # noqa: E402
from mtl_core.studies.lessons import LESSONS  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

TARGETS = {"sharing-helps": 45.0}  # seconds from Run to the verdict (the lesson's issue)
TIMEOUT_MS = 30 * 60 * 1000

# A plotted point of a curve on the page: Plotly's laid-out traces (``_fullData``) of a
# chart that Streamlit does not mark as left over from an older script run.
FIRST_CURVE = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some((div) => {
  const box = div.closest('[data-testid="stElementContainer"]');
  if (box && box.getAttribute('data-stale') === 'true') return false;
  return (div._fullData || []).some((tr) => (tr._length ?? (tr.x || []).length) > 0);
})"""


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def stored_runs(store: Path) -> list[dict]:
    """Every run of the store: arm (from its name), status, created, elapsed training."""
    conn = sqlite3.connect(store, timeout=30)
    try:
        rows = conn.execute("SELECT name, status, created, heartbeat, summary FROM runs").fetchall()
    finally:
        conn.close()
    out = []
    for name, status, created, heartbeat, summary in rows:
        parts = name.split(" · ")
        summary = json.loads(summary or "{}")
        arm = parts[1] if len(parts) > 2 else name
        out.append({"arm": arm, "status": status, "created": created, "end": heartbeat, **summary})
    return out


class CpuWatch(threading.Thread):
    """CPU seconds used from now until ``stop`` by the server's worker processes (its
    descendants), by the server itself, and by the browser (this process's other
    descendants: Playwright's driver and Chromium). /proc is read every 0.5 s; a process
    that exits between two reads loses at most 0.5 s of its count."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = server_pid
        self.start_cpu = self.read()
        self.last = dict(self.start_cpu)
        self.done = threading.Event()

    def read(self) -> dict[int, tuple[str, float]]:
        """pid -> (group, CPU seconds) of every process watched."""
        table = proc_table()
        workers = set(descendants(self.pid, table))
        mine = set(descendants(os.getpid(), table)) - workers - {self.pid}
        groups = {self.pid: "server", **dict.fromkeys(workers, "workers")}
        groups |= dict.fromkeys(mine, "browser")
        return {p: (group, table[p][2]) for p, group in groups.items() if p in table}

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.last.update(self.read())

    def stop(self) -> dict[str, float]:
        """CPU seconds since the start by group: workers, server, browser."""
        self.done.set()
        self.join()
        self.last.update(self.read())
        used = dict.fromkeys(("workers", "server", "browser"), 0.0)
        for p, (group, cpu) in self.last.items():
            used[group] += cpu - self.start_cpu.get(p, (group, 0.0))[1]
        return used


def once(browser, slug: str) -> dict:
    """One fresh server, one page, one Run at the default seeds: the timeline."""
    lesson = LESSONS[slug]
    with tempfile.TemporaryDirectory(prefix="lesson_time_") as tmp:
        tree = snapshot(ROOT, Path(tmp) / "tree")
        data_root = Path(tmp) / "data"
        server = Server(data_root, tree)
        try:
            server.wait_healthy(timeout=120)
            page = browser.new_page(viewport={"width": 1400, "height": 1700})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{server.url}/?lesson={slug}")
            page.get_by_role("heading", name=lesson.title).wait_for()
            run = page.get_by_role("button", name=re.compile(r"^Run: "))
            label = run.inner_text()
            k = int(re.search(r"× (\d+) fresh seeds", label).group(1))
            assert k == lesson.default_seeds, f"the page offers {k} seeds, not the default"
            page.wait_for_timeout(2000)  # the page settled: no rerun in flight
            load_before = load()
            watch = CpuWatch(server.pid)
            watch.start()
            tic = time.perf_counter()
            run.click()
            page.wait_for_function(FIRST_CURVE, polling=100)
            first = time.perf_counter() - tic
            page.get_by_text("Verdict", exact=True).wait_for()
            page.get_by_role("button", name="Download the handout (HTML)").wait_for()
            verdict = time.perf_counter() - tic
            cpu = watch.stop()
            load_after = load()
            seeds = re.search(r"seeds=([0-9-]+)", page.url).group(1)
            outcomes = re.findall(r"(✓ held|✗ did not hold|\? unclear)", page.inner_text("body"))
            page.close()
            runs = stored_runs(server.store)
        finally:
            server.stop()
    return {
        "seeds": seeds,
        "label": label,
        "first": first,
        "verdict": verdict,
        "load_before": load_before,
        "load_after": load_after,
        "outcomes": outcomes,
        "cpu": cpu,
        "runs": runs,
    }


def concurrency(runs: list[dict]) -> int:
    """Most runs training at once, from each run's start (its end minus its training time)
    and its end (the last heartbeat)."""
    spans = [(r["end"] - r.get("elapsed", 0.0), r["end"]) for r in runs if "elapsed" in r]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    best = now = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


def report(slug: str, result: dict, slots: int) -> bool | None:
    runs = result["runs"]
    target = TARGETS.get(slug)
    print(f"lesson: {slug} ({LESSONS[slug].title}); button: {result['label']}")
    print(f"seeds: {result['seeds']}; runs stored: {len(runs)}; worker slots: {slots}")
    print(
        f"load average (1, 5, 15 min): before {result['load_before']}, after {result['load_after']}"
    )
    print(f"Run -> first curve: {result['first']:.1f} s")
    print(f"Run -> verdict:     {result['verdict']:.1f} s  ({', '.join(result['outcomes'])})")
    arms: dict[str, list[float]] = {}
    for run in runs:
        arms.setdefault(run["arm"], []).append(run.get("elapsed", float("nan")))
    total = 0.0
    for arm, times in arms.items():
        total += sum(times)
        print(
            f"  {arm}: {len(times)} runs, training {statistics.median(times):.1f} s a run "
            f"(median; {min(times):.1f} to {max(times):.1f} s)"
        )
    print(
        f"  training time of all runs {total:.0f} s; over {slots} slots at least "
        f"{total / slots:.0f} s; most runs training at once: {concurrency(runs)}"
    )
    cpu = result["cpu"]
    print(
        f"  CPU used from Run to verdict: workers {cpu['workers']:.0f} s "
        f"({cpu['workers'] / len(runs):.1f} s a run), server {cpu['server']:.0f} s, browser "
        f"{cpu['browser']:.0f} s; the workers had "
        f"{cpu['workers'] / (result['verdict'] * slots):.0%} of their {slots} slots' time; on "
        f"{slots} idle cores their work alone takes at least {cpu['workers'] / slots:.0f} s"
    )
    if target is None:
        print("target: none declared for this lesson")
        return None
    met = result["verdict"] <= target
    print(f"target: Run -> verdict <= {target:.0f} s: {'met' if met else 'MISSED'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="sharing-helps", choices=sorted(LESSONS))
    parser.add_argument("--repeat", type=int, default=1, help="fresh servers, one Run each")
    args = parser.parse_args()
    slots = Limits.from_env().max_runs
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            times = []
            for n in range(args.repeat):
                print(f"\n## {args.lesson}, Run {n + 1} of {args.repeat}")
                result = once(browser, args.lesson)
                report(args.lesson, result, slots)
                times.append(result["verdict"])
        finally:
            browser.close()
    if args.repeat > 1:
        print(f"\nRun -> verdict over {args.repeat} Runs: median {statistics.median(times):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

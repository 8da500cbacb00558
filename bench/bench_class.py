"""Benchmark: a classroom on one dashboard server, N students in one headless Chromium.

A teacher runs one server and a class opens it at once. This measures what each student
sees and what each open page costs the server, then extrapolates to 30 and 100 students:

- N pages (``--pages``, default 10), each its own browser context (own cookies, so its own
  owner session), in ONE Chromium, against one server started through the launcher with
  ``MTL_MAX_RUNS`` (``--max-runs``, default 2) training slots.
- Each page loads (timed from ``goto`` to the Train button visible), changes Epochs and
  its own Seed in the sidebar (each timed from the keypress until the page has re-rendered:
  the address bar carries the new value and no element is left stale), presses Train,
  changes Data seed ``--changes-during`` times while its run is queued or training (the
  same timing, now while the queue drains), and watches its live chart: an in-page timer
  reads the number of points Plotly has laid out every 250 ms and records each change.
- Targets: every run completed, one per page, none lost; points at least every 2 s per
  page while its run trains; p95 widget-change-to-redrawn <= 3 s; server RSS growth
  <= 5 MB per session. Reported as well: queue wait per run (created -> running, the
  store polled every 0.1 s), server RSS before / at the peak / after the pages closed, and
  the server's CPU seconds per open page per second while all pages are open. The pool
  workers (the training) are reported apart.
- Where a chart's slow answer waited inside the server: the copy of the tree it serves
  records the points route's own time and each stretch in which the server's event loop
  could not run (bench/server_waits.py, appended to the copy's launcher module only).

It starts once the machine is quiet (at most 0.3 cores busy over 3 s, waiting up to 2 min;
``wait_quiet``), so that runs started one after another do not measure the last one's
Chromium closing. The code measured is a copy of ``--tree`` taken at the start
(bench_ui.snapshot), so edits made meanwhile do not reach the server. Results go to
bench/out/bench_class.json; the exit status is 1 only with ``--check`` and a missed target.

    .venv/bin/python bench/bench_class.py [--pages 10] [--max-runs 2] [--epochs 400] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_ui import (  # noqa: E402
    LIVE,
    Server,
    connect,
    descendants,
    proc_table,
    rss_mb,
    snapshot,
)
from bench.results import p95, write_results  # noqa: E402
from bench.server_waits import ENV as WAITS_ENV  # noqa: E402
from bench.server_waits import instrument, read, request_split, summary  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT_PATH = ROOT / "bench" / "out" / "bench_class.json"
TARGET_GAP = 2.0  # s, largest gap between new chart points while a page's run trains
TARGET_P95 = 3.0  # s, widget change -> page redrawn
TARGET_MB_PER_SESSION = 5.0  # MB of server RSS per open session
SAMPLE_EVERY = 0.2  # s, processes and the store
SETTLE = 5.0  # s, idle before the first page and after the last one closed
# Before anything starts, the machine must be quiet: runs started one after another began
# while the last one's Chromium was still closing (load average 6-8 at the start), and
# their numbers spread more than any change measured. At most QUIET_CORES busy over
# QUIET_FOR seconds, waiting up to QUIET_MAX (then it goes on, and says so).
QUIET_CORES = 0.3
QUIET_FOR = 3.0
QUIET_MAX = 120.0

# Installed before any page script. Every 250 ms: how many points Plotly has laid out in
# the page's charts (gd._fullData: gd.data may hold plotly.py's base64 arrays, without a
# length), recorded with the time (ms since the epoch, like time.time()*1000) when it
# changes. ``B.settled(key, value)``: the address bar carries key=value and no element is
# stale (Streamlit marks elements of an unfinished script run stale). ``B.feeds``: each of
# the chart's requests for new points (feed.py's route), [sent, answered] in the same
# clock, to split a gap into the browser's wait before asking, the server's answer and
# the browser's drawing.
PAGE_PROBE = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const B = (window.__class = { points: [] });
  B.count = () => {
    let n = 0;
    for (const div of document.querySelectorAll(".js-plotly-plot")) {
      for (const tr of div._fullData || []) n = Math.max(n, tr._length ?? (tr.x || []).length);
    }
    return n;
  };
  B.settled = ([key, value]) =>
    new URLSearchParams(location.search).get(key) === value &&
    document.querySelectorAll('[data-stale="true"]').length === 0;
  B.feeds = [];
  const fetch0 = window.fetch;
  window.fetch = function (input, init) {
    const url = String((input && input.url) || input);
    if (!url.includes("mtl/points")) return fetch0.apply(this, arguments);
    const rec = [now(), null];
    B.feeds.push(rec);
    return fetch0.apply(this, arguments).then((res) => { rec[1] = now(); return res; });
  };
  let last = -1;
  setInterval(() => {
    const n = B.count();
    if (n !== last) { B.points.push([now(), n]); last = n; }
  }, 250);
})();
"""


# -----------------------------------------------------------------------------
# the server's processes and the store, sampled from a thread


def busy_cores() -> float:
    """CPU seconds spent busy since boot, all cores together (/proc/stat): the difference
    between two readings, over the seconds between them, is how many cores were busy."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def wait_quiet(cores: float, limit: float) -> tuple[float, float]:
    """Wait until at most ``cores`` were busy over the last QUIET_FOR seconds, or ``limit``
    seconds have passed; return the seconds waited and the last reading."""
    start = time.monotonic()
    while True:
        before = busy_cores()
        time.sleep(QUIET_FOR)
        busy = (busy_cores() - before) / QUIET_FOR
        waited = time.monotonic() - start
        if busy <= cores or waited >= limit:
            return waited, busy


class Sampler(threading.Thread):
    """Every SAMPLE_EVERY s: RSS and CPU seconds of the server, its workers and Chromium;
    every run's status, with the time each run was first seen out of ``queued``."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.samples: list[dict] = []
        self.runs: dict[int, dict] = {}
        self.peaks: dict[int, dict] = {}  # per descendant of the server: largest RSS and PSS
        self.halt = threading.Event()
        self.count = 0

    def sample(self) -> dict:
        table = proc_table()
        server = self.server.pid
        workers = descendants(server, table)
        chromium = [p for p in descendants(os.getpid(), table) if "chrom" in table[p][1]]
        self.count += 1
        for pid in workers:
            peak = self.peaks.setdefault(pid, {"name": table[pid][1], "rss_mb": 0, "pss_mb": 0})
            peak["rss_mb"] = max(peak["rss_mb"], rss_mb(pid) or 0)
            with contextlib.suppress(OSError):  # MTL_WORKER_NICE, as the worker applied it
                peak["nice"] = os.getpriority(os.PRIO_PROCESS, pid)
            if self.count % 5 == 0:  # forked workers share pages: PSS counts them once
                peak["pss_mb"] = max(peak["pss_mb"], pss_mb(pid) or 0)

        def cpu(pids: list[int]) -> float:
            return sum(table[p][2] for p in pids if p in table)

        return {
            "t": time.time(),
            "server_mb": rss_mb(server),
            "workers_mb": sum(rss_mb(p) or 0 for p in workers),
            "workers": len(workers),
            "server_cpu": cpu([server]),
            "workers_cpu": cpu(workers),
            "chromium_cpu": cpu(chromium),
            "chromium_mb": sum(rss_mb(p) or 0 for p in chromium),
            "load1": os.getloadavg()[0],
            "machine_cpu": machine_busy_seconds(),
        }

    def poll_store(self, conn) -> None:
        rows = conn.execute("SELECT id, owner, status, created, heartbeat FROM runs").fetchall()
        seen = time.time()
        for run_id, owner, status, created, beat in rows:
            run = self.runs.setdefault(run_id, {"owner": owner, "created": created})
            run["status"] = status
            if status != "queued" and "running" not in run:
                run["running"] = seen
            if status not in LIVE and "ended" not in run:
                run["ended"] = beat  # the last heartbeat: stamped with the final status

    def run(self) -> None:
        conn = None
        while not self.halt.wait(SAMPLE_EVERY):
            self.samples.append(self.sample())
            if conn is None and self.server.store.exists():
                conn = connect(self.server.store)
            if conn is not None:
                with contextlib.suppress(Exception):  # no schema yet: the server makes it
                    self.poll_store(conn)

    def between(self, t0: float, t1: float) -> list[dict]:
        return [s for s in self.samples if t0 <= s["t"] <= t1]


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy (not idle or waiting for I/O) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def pss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rate(samples: list[dict], field: str) -> float | None:
    """CPU seconds per second of ``field`` over the samples."""
    if len(samples) < 2 or samples[-1]["t"] <= samples[0]["t"]:
        return None
    return (samples[-1][field] - samples[0][field]) / (samples[-1]["t"] - samples[0]["t"])


# -----------------------------------------------------------------------------
# one student


async def change(page, label: str, key: str, value: int, phase: str) -> dict:
    """Type ``value`` into the sidebar number input ``label``; time it until redrawn.

    Only the keypress -> redrawn stretch is timed, not the wait for the input itself."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    box = sidebar.get_by_label(label, exact=True)
    tic = time.time()
    try:
        if not await box.is_visible():  # a rerun that moves the sidebar folds the expander
            await sidebar.get_by_text("Training", exact=True).click(timeout=60_000)
        await box.wait_for(state="visible", timeout=60_000)
        if await box.input_value() == str(value):  # no change, no rerun: nothing to time
            return {"widget": label, "phase": phase, "at": tic, "s": None, "skipped": True}
        await box.fill(str(value))
        tic = time.time()
        await box.press("Enter")
        await page.wait_for_function(
            "window.__class.settled", arg=[key, str(value)], timeout=120_000, polling=20
        )
        took = time.time() - tic
    except Exception as exc:
        return {"widget": label, "phase": phase, "at": tic, "s": None, "error": repr(exc)[:200]}
    return {"widget": label, "phase": phase, "at": tic, "s": round(took, 3)}


async def student(browser, url: str, i: int, args, sampler: Sampler) -> dict:
    out: dict = {"page": i, "seed": 1000 + i, "changes": []}
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await context.add_init_script(PAGE_PROBE)
    page = await context.new_page()
    out["context"] = context
    out["browser_errors"] = []  # a crashed renderer, uncaught script errors, console errors

    def note(kind: str, text: str) -> None:
        if len(out["browser_errors"]) < 10:
            out["browser_errors"].append([round(time.time(), 2), kind, text[:300]])

    page.on("crash", lambda _: note("crash", "the page's renderer crashed"))
    page.on("pageerror", lambda exc: note("pageerror", str(exc)))
    page.on("console", lambda m: m.type == "error" and note("console", m.text))
    try:
        tic = time.time()
        await page.goto(url, timeout=180_000)
        train = page.get_by_role("button", name="Train", exact=True)
        await train.wait_for(timeout=180_000)
        out["load_s"] = round(time.time() - tic, 3)
        out["loaded_at"] = time.time()
        out["changes"].append(await change(page, "Epochs", "epochs", args.epochs, "before"))
        out["changes"].append(await change(page, "Seed", "seed", out["seed"], "before"))
        owner = next(c["value"] for c in await context.cookies() if c["name"] == "mtl_owner")
        out["clicked_at"] = time.time()
        await train.click()
        run_id = None
        while run_id is None:  # this page's run, by its owner cookie
            run_id = next((k for k, r in list(sampler.runs.items()) if r["owner"] == owner), None)
            if time.time() - out["clicked_at"] > 60:
                raise TimeoutError("no run was created within 60 s of the click")
            await asyncio.sleep(0.1)
        out["run_id"] = run_id
        if i == args.pages - 1:  # the last to click: its run waits in the queue
            await asyncio.sleep(3)
            await page.screenshot(path=str(OUT_PATH.parent / "bench_class_last_page.png"))
        made = 0
        next_change = time.time() + 4 + i % 5
        while sampler.runs[run_id].get("status") in LIVE:
            if made < args.changes_during and time.time() >= next_change:
                made += 1
                value = 100 + 10 * i + made
                out["changes"].append(await change(page, "Data seed", "data_seed", value, "drain"))
                next_change = time.time() + 8
            await asyncio.sleep(0.2)
        # the completion rerun draws the last epochs: wait for the chart to hold them all
        final = args.epochs + 1  # epochs 0..N
        try:
            await page.wait_for_function(
                f"window.__class.count() >= {final}", timeout=60_000, polling=250
            )
        except Exception:
            out["error_final_draw"] = "the chart never showed every epoch"
            out["stuck_page"] = await page.evaluate(
                "() => [document.querySelectorAll('[data-stale=\"true\"]').length,"
                " (document.querySelector('[data-testid=\"stMain\"]') || document.body)"
                ".innerText.slice(0, 400)]"
            )
            out["stuck_url"] = page.url  # the setup and the run the page last recorded
            await page.screenshot(path=str(OUT_PATH.parent / f"bench_class_stuck_page{i}.png"))
        await asyncio.sleep(0.5)
        out["points"] = await page.evaluate("window.__class.points")
        out["feeds"] = await page.evaluate("window.__class.feeds")
        out["points_final"] = await page.evaluate("window.__class.count()")
        if i == 0:
            await page.screenshot(path=str(OUT_PATH.parent / "bench_class_page0_done.png"))
    except Exception as exc:
        out["error"] = repr(exc)[:300]
        with contextlib.suppress(Exception):
            await page.screenshot(path=str(OUT_PATH.parent / f"bench_class_error_page{i}.png"))
    if "points" not in out:
        with contextlib.suppress(Exception):
            out["points"] = await page.evaluate("window.__class.points")
    return out


def gap_split(window: list[float], gaps: list[float], feeds: list) -> dict:
    """Where the largest gap's time went: from the draw that opened it to the chart's
    request that brought its closing point (the browser's timer, due every poll), that
    request's answer (the server), and from the answer to the point seen drawn (the
    browser; the probe looks every 250 ms). Plus the longest wait between two of the
    chart's requests in the window: the poll is due every ``MTL_POLL_SECONDS``."""
    sent = [(s / 1000, e / 1000) for s, e in feeds if e is not None]
    if not gaps or not sent:
        return {}
    k = max(range(len(gaps)), key=gaps.__getitem__)
    a, b = window[k], window[k + 1]
    brought = [(s, e) for s, e in sent if e <= b]
    if not brought:
        return {}
    s, e = brought[-1]
    starts = [s for s, _ in sent if window[0] <= s <= window[-1]]
    return {
        "gap_split_s": {
            "draw_to_request": round(s - a, 3),
            "server_answer": round(e - s, 3),
            "answer_to_drawn": round(b - e, 3),
        },
        "gap_request": [s, e],
        "request_every_max_s": round(max((y - x for x, y in pairwise(starts)), default=0), 3),
        "server_answer_max_s": round(
            max((e - s for s, e in sent if window[0] <= s <= window[-1]), default=0), 3
        ),
    }


def chart_gaps(one: dict, run: dict) -> dict:
    """When new points appeared while the run trained, and the largest gap between them.

    The window opens with the first point drawn after the run left the queue (its epoch 0)
    and closes with the first draw after the run ended (the completion rerun). A point is
    new when the chart holds more than it ever held before (tests/test_bench_class.py).
    """
    points = [(t / 1000, n) for t, n in one.get("points", [])]
    start, end = run.get("running"), run.get("ended")
    if start is None or end is None:
        return {"gap_max_s": None}
    # a count above every one before: a figure drawn anew with fewer points (older ones)
    # and then fed back up brings no new point until it passes the most drawn
    grew, most = [], 0
    for t, n in points:
        if n > most:
            grew.append(t)
            most = n
    inside = [t for t in grew if t >= start]
    closing = next((t for t in inside if t >= end), None)
    window = [t for t in inside if t < end] + ([closing] if closing else [])
    gaps = [b - a for a, b in pairwise(window)]
    return {
        **gap_split(window, gaps, one.get("feeds") or []),
        "first_point_after_running_s": round(window[0] - start, 3) if window else None,
        "draws_while_training": len(window),
        "draw_times_s": [round(t - start, 2) for t in window],
        "gap_max_s": round(max(gaps), 3) if gaps else None,
        "gap_median_s": round(statistics.median(gaps), 3) if gaps else None,
    }


def finite(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else value


# -----------------------------------------------------------------------------
# the class, end to end


async def classroom(server: Server, sampler: Sampler, args) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # one page first, loaded and closed: the server's one-time imports for the
            # first session (the app's modules, torch, pandas, plotly) are not per session
            tic = time.time()
            context = await browser.new_context(viewport={"width": 1400, "height": 1000})
            page = await context.new_page()
            await page.goto(server.url + "/", timeout=180_000)
            await page.get_by_role("button", name="Train", exact=True).wait_for(timeout=180_000)
            warm_load = time.time() - tic
            await context.close()
            await asyncio.sleep(SETTLE)
            t_warm = time.time()
            await asyncio.sleep(2)
            t_first = time.time()
            pages = await asyncio.gather(
                *(student(browser, server.url + "/", i, args, sampler) for i in range(args.pages))
            )
            t_all_done = time.time()
            for one in pages:
                await one.pop("context").close()
            t_closed = time.time()
        finally:
            await browser.close()
    return {
        "warm_load_s": round(warm_load, 3),
        "t_warm": t_warm,
        "pages": pages,
        "t_first": t_first,
        "t_all_done": t_all_done,
        "t_closed": t_closed,
    }


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def model(result: dict, max_runs: int, cpus: int) -> list[str]:
    """The measured per-session costs, scaled to 30 and 100 students.

    Streamlit serves every page from one Python process: its reruns share one interpreter
    lock, so the server gets about one core whatever the machine has. A live page's chart
    asks for new epochs every MTL_POLL_SECONDS (1 s; a small read, mtl_core/dashboard/feed.py)
    (its progress line and cards move on with each answer) and the rest of its panel
    reruns when the run's status changes and every tenth interval, stretched to about
    open pages / 5 s (mtl_core/limits.py), so the server's CPU per second of a watching page, measured
    here at 10 pages, is what each more student adds (an upper bound: page loads, widget
    reruns and clicks are counted in it too).
    """
    mem, cpu, runs = result["memory"], result["cpu"], result["runs"]
    base = mem["after_first_page_mb"]
    per_mb = max(mem["growth_per_session_mb"], 0.0)
    per_cpu = cpu["server_cpu_per_watching_page_s_per_s"] or cpu["server_cpu_per_tick_s"] or 0.0
    train_s = runs["train_s_median"] or 0.0
    slot_mb = mem["workers_peak_pss_mb"] / max_runs  # with the forkserver: an upper bound
    lines = [
        f"measured: server {base:.0f} MB after the first page + {per_mb:.1f} MB per session;"
        f" server CPU {per_cpu:.3f} core per page watching a live run (its chart's 1 s"
        f" asks and its panel's reruns; {cpu['server_cpu_per_tick_s'] or 0:.3f} s per chart"
        " update seen); a run of"
        f" {result['epochs']} epochs trained {train_s:.1f} s (median) with {max_runs} at once"
        f" on {cpus} shared cores (load average {result['loadavg_start'][0]:.1f} at the start);"
        f" workers <= {slot_mb:.0f} MB (PSS) per training slot",
    ]
    for n in (30, 100):
        core = per_cpu * n
        waves = math.ceil(n / max_runs)
        mean_wait = statistics.mean((k // max_runs) * train_s for k in range(n))
        lines.append(
            f"{n:>3} students: server ~{base + per_mb * n:.0f} MB + workers"
            f" ~{slot_mb * max_runs:.0f} MB; server CPU ~{core:.2f} core while all watch a live run"
            + (
                " -> over the one core a Streamlit process gets: updates would fall behind"
                if core > 0.8
                else ""
            )
            + f"; all pressing Train at once with MTL_MAX_RUNS={max_runs}: {waves} waves,"
            f" mean queue wait ~{mean_wait:.0f} s, the last ~{(waves - 1) * train_s:.0f} s"
        )
    alone = runs["train_s_min"] or train_s  # the fastest run: the least shared core
    lines.append(
        f"with a core per slot a run takes about the fastest one seen here, {alone:.1f} s:"
    )
    for n in (30, 100):
        for slots in (4, 8, 16):
            waves = math.ceil(n / slots)
            lines.append(
                f"    {n} students, MTL_MAX_RUNS={slots}: last queue wait"
                f" ~{(waves - 1) * alone:.0f} s ({slots} cores for"
                f" training + 1 for the server, RAM ~{(base + per_mb * n + slot_mb * slots) / 1024:.1f} GB)"
            )
    if per_cpu > 0:
        pages = 0.8 / per_cpu
        lines.append(
            f"one server process keeps up with ~{pages:.0f} pages watching a live run at"
            f" these rates; 100 would need MTL_POLL_SECONDS ~{max(1.0, 100 / pages):.1f} s"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10, help="students (default 10)")
    parser.add_argument("--max-runs", type=int, default=2, help="MTL_MAX_RUNS (default 2)")
    parser.add_argument(
        "--epochs",
        type=int,
        default=400,
        help="epochs of each run (default 400: ~17 s alone on a core here, 20-90 s"
        " two at once on this shared machine)",
    )
    parser.add_argument(
        "--changes-during",
        type=int,
        default=2,
        help="Data seed changes per page while its run is live (default 2)",
    )
    parser.add_argument(
        "--tree",
        type=Path,
        default=ROOT,
        help="the project tree to measure (default: this checkout); it is "
        "copied first, so edits made meanwhile do not reach the server",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    for name in ("pages", "max_runs", "epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")

    waited, busy = wait_quiet(QUIET_CORES, QUIET_MAX)
    load = os.getloadavg()
    cpus = os.cpu_count() or 1
    print(
        f"machine {'quiet' if busy <= QUIET_CORES else 'STILL BUSY'} after {waited:.0f} s:"
        f" {busy:.2f} cores busy over the last {QUIET_FOR:.0f} s (waits up to"
        f" {QUIET_MAX:.0f} s for at most {QUIET_CORES} busy cores)"
    )
    print(
        f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({cpus} cores,"
        " shared: other processes slow every number here)"
    )
    print(
        f"{args.pages} pages, MTL_MAX_RUNS={args.max_runs}, {args.epochs} epochs per run,"
        f" {args.changes_during} widget changes per page while its run is live"
    )
    result: dict = {
        "python": platform.python_version(),
        "cpus": cpus,
        "loadavg_start": load,
        "busy_cores_start": busy,
        "waited_for_quiet_s": waited,
        "tree": str(args.tree),
        "pages": args.pages,
        "max_runs": args.max_runs,
        "epochs": args.epochs,
    }
    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    for old in OUT_PATH.parent.glob("bench_class_*.png"):  # screenshots of an earlier run
        old.unlink()
    tmp = Path(tempfile.mkdtemp(prefix="bench_class-"))
    os.environ["MTL_MAX_RUNS"] = str(args.max_runs)  # Server passes our environment on
    os.environ["MTL_STORE"] = str(tmp / "runs.sqlite")  # where Server.store looks
    os.environ[WAITS_ENV] = str(tmp / "waits.jsonl")  # bench/server_waits.py
    if not instrument(snapshot(args.tree.resolve(), tmp / "tree")):
        print("(a tree without the launcher's points route: no timings inside the server)")
    server = Server(tmp, tmp / "tree")
    sampler = Sampler(server)
    try:
        server.wait_healthy()
        sampler.start()
        time.sleep(SETTLE)
        t_idle = time.time()
        time.sleep(SETTLE)  # the idle server: its RSS and CPU before any page
        idle = sampler.between(t_idle, time.time())
        run = asyncio.run(classroom(server, sampler, args))
        time.sleep(SETTLE)
        t_after = time.time()
        time.sleep(2)
        sampler.halt.set()
        sampler.join()
    finally:
        sampler.halt.set()
        server.stop()
        log = server.log()
        routes, blocked = read(tmp / "waits.jsonl")
        shutil.rmtree(tmp, ignore_errors=True)

    pages = run["pages"]
    errors = [f"page {p['page']}: {p['error']}" for p in pages if "error" in p]

    # runs: one completed run per page, none lost
    runs = sampler.runs
    mine = {p.get("run_id") for p in pages}
    completed = [k for k, r in runs.items() if r.get("status") == "completed"]
    per_page_ok = all(
        p.get("run_id") is not None and runs[p["run_id"]].get("status") == "completed"
        for p in pages
    )
    owners = [r["owner"] for r in runs.values()]
    waits = {k: r["running"] - r["created"] for k, r in runs.items() if "running" in r}
    trains = [r["ended"] - r["running"] for r in runs.values() if "ended" in r and "running" in r]
    runs_ok = per_page_ok and len(runs) == args.pages and len(set(owners)) == args.pages

    # per page: load, chart gaps, queue wait
    for p in pages:
        p.update(chart_gaps(p, runs.get(p.get("run_id"), {})))
        if request := p.pop("gap_request", None):  # that answer, as the server saw it
            p["gap_answer_split_s"] = request_split(p["run_id"], *request, routes, blocked)
    gaps = [p["gap_max_s"] for p in pages]
    no_gap = [p["page"] for p in pages if p["gap_max_s"] is None]  # drew < 2 times meanwhile
    gap_ok = all(g is not None and g <= TARGET_GAP for g in gaps)

    changes = [c for p in pages for c in p["changes"] if not c.get("skipped")]
    timed = [c["s"] if c["s"] is not None else math.inf for c in changes]
    drain = [c["s"] if c["s"] is not None else math.inf for c in changes if c["phase"] == "drain"]
    failed = sum(c["s"] is None for c in changes)
    p95_all, p95_drain = p95(timed), p95(drain)
    p95_ok = None if p95_drain is None else p95_drain <= TARGET_P95

    # memory: before the first page, peak, after all closed
    all_open = run["t_first"], run["t_all_done"]
    during = sampler.between(*all_open)
    after = sampler.between(t_after, t_after + 10)
    before_mb = statistics.median(s["server_mb"] for s in idle)
    warm_mb = statistics.median(
        s["server_mb"] for s in sampler.between(run["t_warm"], run["t_first"])
    )
    peak_mb = max(s["server_mb"] for s in during)
    after_mb = statistics.median(s["server_mb"] for s in after)
    growth = (peak_mb - warm_mb) / args.pages  # per session, after the one-time imports
    raw_growth = (peak_mb - before_mb) / args.pages
    workers = {pid: w for pid, w in sampler.peaks.items() if w["pss_mb"] > 0}
    mem = {
        "before_mb": round(before_mb, 1),
        "after_first_page_mb": round(warm_mb, 1),
        "first_page_load_s": run["warm_load_s"],
        "peak_mb": round(peak_mb, 1),
        "after_closed_mb": round(after_mb, 1),
        "growth_per_session_mb": round(growth, 2),
        "growth_per_session_from_cold_mb": round(raw_growth, 2),
        "kept_after_close_mb": round(after_mb - before_mb, 1),
        "workers_before_mb": round(statistics.median(s["workers_mb"] for s in idle), 1),
        "workers_peak_mb": round(max(s["workers_mb"] for s in during), 1),
        "workers_count": max(s["workers"] for s in during),
        "workers_peak_rss_pss_each_mb": {
            f"{w['name']}[{pid}]": (round(w["rss_mb"]), round(w["pss_mb"]))
            for pid, w in workers.items()
        },
        "workers_peak_pss_mb": round(sum(w["pss_mb"] for w in workers.values()), 1),
        "workers_niceness_each": {
            f"{w['name']}[{pid}]": w.get("nice") for pid, w in workers.items()
        },
        "chromium_peak_mb": round(max(s["chromium_mb"] for s in during), 1),
        "target_mb_per_session": TARGET_MB_PER_SESSION,
    }
    mem_ok = growth <= TARGET_MB_PER_SESSION

    # CPU while every page is open: from the last page loaded to the first run... to the end
    t_open = max((p["loaded_at"] for p in pages if "loaded_at" in p), default=run["t_first"])
    open_phase = sampler.between(t_open, run["t_all_done"])
    busy_end = max((r.get("ended") or 0 for r in runs.values()), default=run["t_all_done"])
    training_phase = sampler.between(t_open, busy_end)
    server_rate = rate(open_phase, "server_cpu")
    idle_rate = rate(idle, "server_cpu") or 0.0
    # page-seconds with the page's run live (queued or training: its fragment polls)
    watching = sum(
        max(0.0, min(runs[p["run_id"]].get("ended") or t_end, t_end) - max(p["clicked_at"], t_open))
        for p in pages
        if p.get("run_id") in runs
        for t_end in [run["t_all_done"]]
    )
    open_s = run["t_all_done"] - t_open
    # chart redraws with new points the pages saw in that phase: about one per fragment poll
    ticks = sum(
        1
        for p in pages
        for (_, m), (t, n) in pairwise(p.get("points") or [])
        if n > m and t_open <= t / 1000 <= run["t_all_done"]
    )
    cpu = {
        "idle_server_s_per_s": idle_rate,
        "all_open_phase_s": round(run["t_all_done"] - t_open, 1),
        "server_s_per_s": server_rate,
        "server_cpu_per_page_s_per_s": None
        if server_rate is None
        else (server_rate - idle_rate) / args.pages,
        "watching_page_s": round(watching, 1),
        "server_cpu_per_watching_page_s_per_s": None
        if server_rate is None or watching <= 0
        else (server_rate - idle_rate) * open_s / watching,
        "live_ticks_seen": ticks,
        "server_cpu_per_tick_s": None
        if server_rate is None or not ticks
        else (server_rate - idle_rate) * open_s / ticks,
        "workers_s_per_s": rate(training_phase, "workers_cpu"),
        "chromium_s_per_s": rate(open_phase, "chromium_cpu"),
        "machine_busy_s_per_s": rate(open_phase, "machine_cpu"),
        "workers_open_phase_s_per_s": rate(open_phase, "workers_cpu"),
        "load1_max": max((s["load1"] for s in during), default=None),
    }
    cpu = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in cpu.items()}

    result.update(
        {
            "errors": errors,
            "runs": {
                "count": len(runs),
                "completed": len(completed),
                "one_completed_per_page": per_page_ok,
                "lost_or_extra": sorted(set(runs) ^ mine),
                "queue_wait_s": {k: round(v, 2) for k, v in sorted(waits.items())},
                "queue_wait_max_s": round(max(waits.values()), 2) if waits else None,
                "train_s_median": round(statistics.median(trains), 2) if trains else None,
                "train_s_min": round(min(trains), 2) if trains else None,
                "pass": runs_ok,
            },
            "widget_change": {
                "count": len(changes),
                "never_redrawn": failed,
                "p95_all_s": finite(p95_all),  # null: some change was never redrawn
                "p95_during_drain_s": finite(p95_drain),
                "median_s": finite(round(statistics.median(timed), 3)) if timed else None,
                "target_s": TARGET_P95,
                "pass": p95_ok,
            },
            "chart": {
                "gap_max_s": max((g for g in gaps if g), default=None),
                "pages_without_two_draws": no_gap,
                "pass": gap_ok,
            },
            "memory": {**mem, "pass": mem_ok},
            "cpu": cpu,
            "server_waits": summary(routes, blocked),
            "per_page": [{k: v for k, v in p.items() if k != "points"} for p in pages],
            "points": {p["page"]: p.get("points") for p in pages},
            "server_tracebacks": log.count("Traceback"),
            "loadavg_end": os.getloadavg(),
        }
    )

    # print
    print(f"\nload average, 1 min, max while the pages were open: {cpu['load1_max']:.2f}")
    for e in errors:
        print(f"  ERROR {e}")
    for p in pages:
        if p.get("stuck_page") is not None:
            print(
                f"  page {p['page']} never drew its last epoch; its address then:"
                f" {p.get('stuck_url')}; stale elements and text then: {p['stuck_page']!r}"
            )
        for t, kind, text in p.get("browser_errors", []):
            print(f"  page {p['page']} browser {kind} at +{t - run['t_first']:.1f} s: {text[:160]}")
    print(
        "\npage  load s  widget changes s (before | while live)   run  queue wait s"
        "  train s  draws  1st pt s  max gap s"
    )
    for p in pages:
        r = runs.get(p.get("run_id"), {})
        before = " ".join(f"{c['s'] if c['s'] is not None else 'x':>5}" for c in p["changes"][:2])
        live = " ".join(f"{c['s'] if c['s'] is not None else 'x':>5}" for c in p["changes"][2:])
        wait = r["running"] - r["created"] if "running" in r else None
        trained = r["ended"] - r["running"] if "ended" in r and "running" in r else None

        def f(v, w=6, d=2):
            return f"{v:>{w}.{d}f}" if isinstance(v, (int, float)) else f"{'-':>{w}}"

        print(
            f"{p['page']:>4}  {f(p.get('load_s'))}  {before:<11} | {live:<16}"
            f"  {p.get('run_id', '-'):>3}  {f(wait, 12)}  {f(trained, 7, 1)}"
            f"  {p.get('draws_while_training', '-'):>5}  {f(p.get('first_point_after_running_s'), 8)}"
            f"  {f(p.get('gap_max_s'), 9)}"
        )
    print("\nthe largest gap of each page: the draw that opened it -> the chart's request that")
    print("brought its closing point + that request's answer + the point seen drawn:")
    for p in pages:
        split = p.get("gap_split_s")
        if split:
            print(
                f"  page {p['page']}: {p['gap_max_s']:.2f} s = {split['draw_to_request']:.2f}"
                f" + {split['server_answer']:.2f} + {split['answer_to_drawn']:.2f};"
                f" requests at most {p['request_every_max_s']:.2f} s apart, answers at most"
                f" {p['server_answer_max_s']:.2f} s"
            )
        if inside := p.get("gap_answer_split_s"):
            print(
                f"    that answer: {inside['before_route']:.2f} s before the route began (the"
                f" server's event loop blocked {inside['loop_blocked_meanwhile']:.2f} s of it)"
                f" + {inside['route']:.2f} s in the route"
            )
    loop = result["server_waits"]
    print(
        "(no timings inside the server: an older tree)"
        if not loop["route_answers"]
        else f"the server's event loop: blocked {loop['loop_blocked_total_s']} s in all (stretches"
        f" over 50 ms), longest {loop['loop_blocked_longest_s']} s,"
        f" {loop['loop_blocked_over_0_5_s']} over 0.5 s; the points route's own time over"
        f" {loop['route_answers']} answers: median {loop['route_answer_median_s']} s, p95"
        f" {loop['route_answer_p95_s']} s, max {loop['route_answer_max_s']} s"
    )
    print(
        f"\nruns: {len(runs)} in the store, {len(completed)} completed, one completed per page:"
        f" {per_page_ok}; not a page's run or missing: {result['runs']['lost_or_extra'] or 'none'}"
        f"  -> {verdict(runs_ok)}"
    )
    print(
        f"queue wait (created -> running): max {result['runs']['queue_wait_max_s']} s;"
        f" a run trained {result['runs']['train_s_median']} s (median)"
    )
    print(
        f"live chart: largest gap between new points while a run trained:"
        f" {result['chart']['gap_max_s']} s over the pages that drew at least twice; pages"
        f" whose chart drew fewer than 2 times while their run trained: {no_gap or 'none'}"
        f"  target <= {TARGET_GAP:.0f} s per page -> {verdict(gap_ok)}"
    )
    print(
        f"widget change -> redrawn: {len(changes)} changes, median"
        f" {result['widget_change']['median_s']} s, p95 {p95_all} s; while the queue drains"
        f" p95 {p95_drain} s  target <= {TARGET_P95:.0f} s -> {verdict(p95_ok)}"
        f"; {failed} change(s) never redrawn (inf: the input never became usable in 60 s"
        " or the page never settled in 120 s)"
    )
    print(
        f"server RSS: before the first page {mem['before_mb']} MB, after one page loaded and"
        f" closed {mem['after_first_page_mb']} MB (one-time imports; that load took"
        f" {mem['first_page_load_s']} s), peak {mem['peak_mb']} MB, after all pages closed"
        f" (+{SETTLE:.0f} s) {mem['after_closed_mb']} MB"
    )
    print(
        f"  growth per session (peak - after the first page) / {args.pages}: {growth:.2f} MB"
        f"  target <= {TARGET_MB_PER_SESSION:.0f} MB -> {verdict(mem_ok)}"
        f"  (from before the first page: {raw_growth:.2f} MB)"
    )
    each = ", ".join(f"{k} {r}/{p}" for k, (r, p) in mem["workers_peak_rss_pss_each_mb"].items())
    nice = ", ".join(f"{k} {n}" for k, n in mem["workers_niceness_each"].items())
    print(
        f"workers (apart): {mem['workers_count']} processes; peak RSS/PSS MB: {each or '-'};"
        f" PSS total {mem['workers_peak_pss_mb']} MB; niceness (MTL_WORKER_NICE in the"
        f" pool's workers) {nice or '-'}; {cpu['workers_s_per_s']} CPU s/s while"
        f" training; Chromium (all pages) peak RSS {mem['chromium_peak_mb']} MB"
    )
    print(
        f"server CPU with all {args.pages} pages open ({cpu['all_open_phase_s']} s):"
        f" {cpu['server_s_per_s']} s/s (idle {cpu['idle_server_s_per_s']}),"
        f" {cpu['server_cpu_per_page_s_per_s']} s per open page per s above idle,"
        f" {cpu['server_cpu_per_watching_page_s_per_s']} per page-second with its run live"
        f" (queued or training: the page polls); {ticks} chart redraws with new points seen,"
        f" {cpu['server_cpu_per_tick_s']} server CPU s per redraw"
    )
    busy = cpu["machine_busy_s_per_s"]
    if busy is not None:
        ours = sum(cpu[k] or 0 for k in ("server_s_per_s", "workers_open_phase_s_per_s"))
        ours += cpu["chromium_s_per_s"] or 0
        print(
            f"where the machine's CPU went meanwhile (core-seconds per second, of {cpus}):"
            f" busy {busy:.2f} = server {cpu['server_s_per_s']:.2f} + workers"
            f" {cpu['workers_open_phase_s_per_s']:.2f} + Chromium {cpu['chromium_s_per_s']:.2f}"
            f" + everything else (Playwright, other engineers' jobs) {busy - ours:.2f}"
        )
    if result["server_tracebacks"]:
        print(f"\nthe server logged {result['server_tracebacks']} traceback(s):\n{log[-2000:]}")
    print("\nmodel (from the numbers above):")
    lines = model(result, args.max_runs, cpus)
    for line in lines:
        print("  " + line)
    result["model"] = lines
    targets = {"runs": runs_ok, "chart": gap_ok, "widget_change": p95_ok, "memory": mem_ok}
    print("\ntargets: " + ", ".join(f"{k} {verdict(v)}" for k, v in targets.items()))
    write_results(OUT_PATH, result)
    OUT_PATH.with_name(f"bench_class-{args.pages}pages.json").write_text(OUT_PATH.read_text())
    passed = all(v is not False for v in targets.values()) and not errors
    return 0 if passed or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())

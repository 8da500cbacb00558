"""Benchmark: what one live page costs its browser, per chart update, in headless Chromium.

A classroom's pages share the server, and on the benchmark machine the browsers too
(bench/bench_class.py); this isolates one page. It starts the dashboard (a copy of
``--tree``, as bench_ui does), opens one page, trains a long default run and, while the
run trains, reads Chromium's own counters (CDP ``Performance.getMetrics``: main-thread
task, script, layout and style time) over ``--window`` seconds, counts the chart's updates
(the number of points Plotly has laid out changing) and samples the page's JavaScript
(CDP profiler) to say which code the time went to. The page's probe (a read of the chart
every 0.25 s) is part of what is measured: ``--idle`` measures the same window on a page
with no run, for that floor.

    .venv/bin/python bench/bench_live_page.py [--window 20] [--tree .] [--idle]

Results go to bench/out/bench_live_page.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_ui import PAGE_PROBE, Server, snapshot  # noqa: E402
from bench.results import write_results  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT_PATH = ROOT / "bench" / "out" / "bench_live_page.json"
EPOCHS = 3000  # long enough to be training for the whole window
POINTS = "() => Math.max(0, ...window.__bench.plots().map((d) => window.__bench.points_of(d)))"
COUNTERS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def by_file(profile: dict) -> dict[str, float]:
    """Sampled JavaScript self time (ms) per script file; '(native)' for the rest."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    out: dict[str, float] = {}
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        frame = nodes[sample]["callFrame"]
        name = frame["functionName"]
        if name in ("(idle)", "(root)"):
            continue
        where = frame["url"].rsplit("/", 1)[-1] or f"({name or 'native'})"
        out[where] = out.get(where, 0.0) + delta / 1000
    return dict(sorted(out.items(), key=lambda kv: -kv[1])[:10])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--idle", action="store_true", help="no run: the probe's own floor")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="mtl-live-page-"))
    server = Server(tmp / "data", snapshot(args.tree, tmp / "tree"))
    server.wait_healthy()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(PAGE_PROBE)
            page.goto(f"{server.url}/?epochs={EPOCHS}")
            train = page.get_by_role("button", name="Train", exact=True)
            train.wait_for(timeout=120_000)
            page.wait_for_timeout(2000)
            if not args.idle:
                train.click()
                page.wait_for_function(
                    "() => document.body.innerText.includes('running · epoch')", timeout=120_000
                )
                page.wait_for_timeout(3000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")

            def counters() -> dict[str, float]:
                got = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                return {name: got[name] for name in COUNTERS}

            before, points = counters(), page.evaluate(POINTS)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.start")
            updates, tic = 0, time.monotonic()
            while time.monotonic() - tic < args.window:
                page.wait_for_timeout(250)
                now = page.evaluate(POINTS)
                updates += now != points
                points = now
            window = time.monotonic() - tic
            profile = cdp.send("Profiler.stop")["profile"]
            after = counters()
            browser.close()
    finally:
        server.stop()
    spent = {name: round(after[name] - before[name], 3) for name in COUNTERS}
    result = {
        "idle": args.idle,
        "window_s": round(window, 2),
        "chart_updates": updates,
        "main_thread_s": spent,
        "main_thread_core": round(spent["TaskDuration"] / window, 3),
        "task_s_per_update": round(spent["TaskDuration"] / updates, 4) if updates else None,
        "script_ms_by_file": {k: round(v, 1) for k, v in by_file(profile).items()},
    }
    print(f"{'idle page' if args.idle else 'one live page'}, {window:.1f} s window")
    print(f"  chart updates: {updates}")
    print(
        f"  browser main thread: {spent['TaskDuration']:.2f} s ({result['main_thread_core']} core)"
    )
    print(
        "    of which script {ScriptDuration:.2f} s, layout {LayoutDuration:.2f} s,"
        " style {RecalcStyleDuration:.2f} s".format(**spent)
    )
    if updates:
        print(f"  per chart update: {result['task_s_per_update']} s of the main thread")
    print("  sampled JavaScript by file (ms):")
    for name, ms in result["script_ms_by_file"].items():
        print(f"    {ms:8.1f}  {name}")
    write_results(OUT_PATH, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

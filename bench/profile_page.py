"""Where a page load's time goes: the server's script run (cProfile) and the browser's share.

Starts the real dashboard through its launcher on a copy of ``--tree`` (as bench_ui.py
does), with one change made to the copy only: its ``dashboard/app.py`` runs the page under
``cProfile`` and writes each script run's profile and wall-clock start and end to a
folder. Then it opens the page in headless Chromium, once on the fresh server and
``--loads`` times more (each in a new browser context, as a new visitor), and records in
the page: the navigation timings, when the WebSocket was made and opened, every message
sent and received, and when Train became visible.

For each load it prints one timeline (seconds after ``goto``) and, for the script run that
drew it, the functions of the page with their cumulative time. Nothing in the product is
switched by this: the profiling wrapper exists only in the temporary copy.

    .venv/bin/python bench/profile_page.py [--loads 3] [--top 25] [--tree PATH]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_ui import Server, snapshot  # noqa: E402
from bench.results import write_results  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT_PATH = ROOT / "bench" / "out" / "profile_page.json"

# The copy's dashboard/app.py: the page under cProfile, one profile per script run.
PROFILED_APP = '''"""The page's script under cProfile (a benchmark's copy, never the product)."""

import cProfile
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":
    out = Path(os.environ["MTL_BENCH_PROFILE_DIR"])
    start = time.time()
    profile = cProfile.Profile()
    if os.environ.get("MTL_BENCH_PROFILE") == "1":  # else wall-clock times only
        profile.enable()
    try:
        from mtl_core.dashboard.app import page

        imported = time.time()
        page()
    finally:
        profile.disable()
        end = time.time()
        n = len(list(out.glob("*.json")))
        if os.environ.get("MTL_BENCH_PROFILE") == "1":
            profile.dump_stats(out / f"run{n:03d}.prof")
        (out / f"run{n:03d}.json").write_text(
            json.dumps({"start": start, "imported": imported, "end": end})
        )
'''

# Installed before the page's scripts: timestamps (ms since the epoch) of the WebSocket's
# creation and opening, every message, and the first moment Train was visible.
PROBE = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const P = (window.__probe = { wsNew: null, wsOpen: null, recvs: [], sends: [], train: null,
                                 cards: null });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      if (!P.wsNew) P.wsNew = now();
      this.addEventListener("open", () => { if (!P.wsOpen) P.wsOpen = now(); });
      this.addEventListener("message", (e) => {
        P.recvs.push([now(), e.data.byteLength ?? e.data.size ?? 0]);
      });
    }
    send(data) {
      P.sends.push([now(), data.byteLength ?? data.length ?? 0]);
      return super.send(data);
    }
  };
  P.long = [];  // the main thread's long tasks (> 50 ms): [start, duration]
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) P.long.push([performance.timeOrigin + e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) {}
  const check = () => {
    if (!P.train) {
      for (const b of document.querySelectorAll("button")) {
        if (b.textContent.trim() === "Train" && b.offsetParent !== null) { P.train = now(); break; }
      }
    }
    if (!P.cards) {
      for (const h of document.querySelectorAll("h3")) {
        if (h.textContent.trim() === "Pick a lesson") { P.cards = now(); break; }
      }
    }
  };
  const start = () => {
    new MutationObserver(check).observe(document, { subtree: true, childList: true });
    setInterval(check, 10);
  };
  if (document.documentElement) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
"""

# The page's own functions worth naming in the breakdown (cumulative seconds).
PARTS = (
    ("app.py", "page"),
    ("app.py", "get_manager"),
    ("app.py", "init_from_url"),
    ("presets.py", "preset_picker"),
    ("controls.py", "sidebar"),
    ("controls.py", "seed_controls"),
    ("app.py", "train_button"),
    ("identical.py", "train_or_offer"),
    ("app.py", "sync_url"),
    ("share.py", "share_button"),
    ("presets.py", "preset_banner"),
    ("landing.py", "landing_view"),
    ("live.py", "keepalive"),
    ("counting.py", "param_count"),
    ("controls.py", "_sanitize"),
    ("datasets_ui.py", "dataset_status"),
    ("control_state.py", "config_from_state"),
    ("runs.py", "session_full"),
    ("runs.py", "seen"),
    ("runs.py", "runs"),
)


def parts_of(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds of each named function (summed over its files' matches)."""
    out: dict[str, float] = {}
    for (path, _, name), (_, _, _, cum, _) in stats.stats.items():
        for file, func in PARTS:
            if name == func and path.endswith(file):
                label = f"{file}:{func}"
                out[label] = out.get(label, 0.0) + cum
    return out


def top(stats: pstats.Stats, n: int) -> str:
    buf = io.StringIO()
    stats.stream = buf
    stats.sort_stats("cumulative").print_stats(n)
    return buf.getvalue()


def load_page(browser, url: str) -> dict:
    """One page load in a new context: the probe's timestamps, in seconds after goto."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(PROBE)
    goto = time.time()
    page.goto(url)
    page.get_by_role("button", name="Train", exact=True).wait_for(timeout=60_000)
    time.sleep(2.0)  # the rest of the script run, its last messages
    probe = page.evaluate("() => window.__probe")
    nav = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {origin: performance.timeOrigin, responseEnd: n.responseEnd,"
        " domInteractive: n.domInteractive, dcl: n.domContentLoadedEventEnd,"
        " load: n.loadEventEnd}; }"
    )
    resources = page.evaluate(
        "() => performance.getEntriesByType('resource').map(r => [r.name.split('/').pop(),"
        " r.startTime, r.responseEnd, r.transferSize, r.initiatorType])"
    )
    page.context.close()

    def rel(ms: float | None) -> float | None:
        return None if ms is None else round(ms / 1000 - goto, 3)

    origin = nav["origin"]
    return {
        "goto": goto,
        "navigation": {k: rel(origin + v) for k, v in nav.items() if k != "origin"},
        "ws_created": rel(probe["wsNew"]),
        "ws_open": rel(probe["wsOpen"]),
        "first_send": rel(probe["sends"][0][0]) if probe["sends"] else None,
        "first_recv": rel(probe["recvs"][0][0]) if probe["recvs"] else None,
        "last_recv": rel(probe["recvs"][-1][0]) if probe["recvs"] else None,
        "recv_count": len(probe["recvs"]),
        "recv_bytes": sum(b for _, b in probe["recvs"]),
        "train_visible": rel(probe["train"]),
        # main-thread long tasks (seconds busy) before the WebSocket opened and after it,
        # until Train was visible
        "long_tasks_before_ws": round(
            sum(d for t, d in probe["long"] if t < (probe["wsOpen"] or 0)) / 1000, 3
        ),
        "long_tasks_ws_to_train": round(
            sum(d for t, d in probe["long"] if (probe["wsOpen"] or 0) <= t < (probe["train"] or 0))
            / 1000,
            3,
        ),
        "cards_visible": rel(probe["cards"]),
        "scripts": [
            [name, rel(origin + s), rel(origin + e), size]
            for name, s, e, size, kind in resources
            if kind == "script" or name.endswith(".js")
        ],
    }


def script_runs(folder: Path, since: float, until: float) -> list[dict]:
    runs = []
    for meta in sorted(folder.glob("*.json")):
        times = json.loads(meta.read_text())
        if since <= times["start"] <= until:
            runs.append({**times, "prof": str(meta.with_suffix(".prof"))})
    return runs


def report(label: str, load: dict, runs: list[dict], n_top: int) -> dict:
    goto = load["goto"]
    print(f"\n== {label}")
    nav = load["navigation"]
    print(
        f"  HTML received {nav['responseEnd']:.3f}; DOM interactive {nav['domInteractive']:.3f};"
        f" DOMContentLoaded {nav['dcl']:.3f}; load {nav['load']:.3f}"
    )
    print(
        f"  WebSocket made {load['ws_created']}, open {load['ws_open']}, first sent"
        f" {load['first_send']}, first received {load['first_recv']}, last received"
        f" {load['last_recv']} ({load['recv_count']} messages, {load['recv_bytes']:,} bytes)"
    )
    print(f"  Train visible {load['train_visible']}; lesson cards visible {load['cards_visible']}")
    print(
        f"  browser main thread busy in long tasks: {load['long_tasks_before_ws']} s before the"
        f" WebSocket opened, {load['long_tasks_ws_to_train']} s from then until Train showed"
    )
    late = [  # Plotly.js apart: the page's pulse loads it a second after the page is drawn
        s
        for s in load["scripts"]
        if s[1] is not None and s[1] > (load["ws_open"] or 0) and "plotly" not in s[0]
    ]
    if late:
        print(
            f"  {len(late)} scripts fetched after the WebSocket opened (widget code loaded on"
            f" first use), {sum(s[3] for s in late):,} bytes, the last done at"
            f" {max(s[2] for s in late):.3f}"
        )
    out = {"load": load, "runs": []}
    for run in runs:
        profiled = Path(run["prof"]).exists()
        stats = pstats.Stats(run["prof"]) if profiled else None
        parts = parts_of(stats) if profiled else {}
        print(
            f"  script run: start {run['start'] - goto:.3f}, imported {run['imported'] - goto:.3f},"
            f" end {run['end'] - goto:.3f} ({run['end'] - run['start']:.3f} s)"
        )
        for name, cum in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"      {name:<40} {cum:7.3f}")
        if n_top and profiled:
            print(top(stats, n_top))
        out["runs"].append({**{k: v for k, v in run.items() if k != "prof"}, "parts": parts})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=3, help="later page loads (default 3)")
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions")
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="time the script runs without cProfile (which slows pure-Python code several"
        " times over): wall-clock times only, no breakdown",
    )
    parser.add_argument("--tree", type=Path, default=ROOT, help="the tree to measure")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    tmp = Path(tempfile.mkdtemp(prefix="profile_page-"))
    tree = snapshot(args.tree.resolve(), tmp / "tree")
    (tree / "dashboard" / "app.py").write_text(PROFILED_APP)
    folder = tmp / "profiles"
    folder.mkdir()
    os.environ["MTL_BENCH_PROFILE_DIR"] = str(folder)
    os.environ["MTL_BENCH_PROFILE"] = "0" if args.no_profile else "1"
    server = Server(tmp, tree)
    result: dict = {"loadavg_start": os.getloadavg(), "loads": []}
    try:
        server.wait_healthy()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for i in range(args.loads + 1):
                    load = load_page(browser, f"{server.url}/")
                    runs = script_runs(folder, load["goto"], time.time())
                    label = "first page (fresh server)" if i == 0 else f"later page {i}"
                    result["loads"].append(report(label, load, runs, args.top))
            finally:
                browser.close()
    finally:
        server.stop()
        if "Traceback" in server.log():
            print(f"\nthe server logged a traceback:\n{server.log()[-3000:]}")
    result["loadavg_end"] = os.getloadavg()
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in result['loadavg_end'])}")
    write_results(OUT_PATH, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the dashboard as a user sees it, in a real headless Chromium.

Starts the Streamlit app on a free port with its own MTL_DATA_ROOT (an empty temporary
folder, as in a fresh clone: the first run prepares the default data, as a newcomer's
does), drives it with Playwright and measures
the three targets of the dashboard:

1. page loads and click-to-first-point: from opening the page on a fresh server to the
   Train button being visible (target <= 1.5 s), and each later page load (<= 1 s, each in
   a new browser context, as a new visitor's; a returning visitor's reloads, whose browser
   has Streamlit's scripts cached, are reported beside them); from
   the click on Train to the first plotted point of the new run in the Live chart, on the
   default setup. The first click after the server starts is reported on its own
   (target <= 1 s); then three clicks on the lessons of a new page on the warm server
   (another newcomer: the click also switches the page to the Live view); then ``--reps``
   clicks on a warm server, on the Live view of the first page, each after the previous
   run has completed (target: warm median <= 0.2 s). Then the server's RSS (its own process,
   workers apart) after those page loads and runs: target <= 200 MB. Then the floor: the
   same page loads of a bare Streamlit page (only the Train button), which no page of the
   dashboard can beat on this machine.
2. throughput with the page open: the default config with ``--epochs`` epochs, trained
   headless by the CLI, from the dashboard with the page open and polling, and (the
   control) from the dashboard with the page closed after the click, in turn, ``--rounds``
   rounds. Epochs/s = epochs / the run's own elapsed time in the store. Target:
   page open / headless >= 0.9.
3. server memory: RSS of the Streamlit process (not its pool workers, reported apart)
   before, during and after a 300-epoch run watched live. Target: growth <= 50 MB.

Every latency is split with the run store (run created, worker running, epoch 0
committed, polled every 5 ms) and the page's WebSocket traffic (the fragment's poll that
brought the first point, the server's reply). Each throughput run also reports the
trainer's share of a core (its CPU seconds per second): below 1 it waited for a CPU.

The code measured is a copy of ``--tree`` (default: this checkout) taken at the start, so
edits made meanwhile neither reach the server nor make Streamlit reload modules mid-run.
Results go to bench/out/bench_ui.json; the exit status is 1 only with ``--check`` and a
missed target.

    .venv/bin/python bench/bench_ui.py [--reps 5] [--rounds 3] [--epochs 600] [--only-latency] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import write_results  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    start_app,
    stop_app,
    wait_healthy,
)

OUT_PATH = ROOT / "bench" / "out" / "bench_ui.json"
TARGET_LATENCY = 0.2  # s, warm median (click on Train -> first plotted epoch)
TARGET_COLD = 1.0  # s, the first click on a fresh server
TARGET_FIRST_PAGE = 1.5  # s, fresh server: page opened -> Train visible
TARGET_PAGE = 1.0  # s, every later page load
TARGET_RSS = 200.0  # MB, the server process after a page load and one run (workers apart)
TARGET_RATIO = 0.9  # page-open epochs/s over headless epochs/s
TARGET_GROWTH = 50.0  # MB of server RSS over one live 300-epoch run
MEMORY_EPOCHS = 300
LIVE = ("queued", "running", "paused")

# Installed before any page script: timestamps (ms since the epoch, like time.time()*1000)
# of the click, of every WebSocket message sent and received, of every request of a live
# chart's feed (mtl/points: asked, answered, epochs in the answer), of Plotly.js becoming
# ready (when that was after the click), of the new run's heading and of its first
# plotted point. Elements that Streamlit marks stale (left over from an older
# script run) and the chart data present before the click do not count.
PAGE_PROBE = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const B = (window.__bench = { expect: null, roots: [document] });
  B.arm = (name) => {
    Object.assign(B, { expect: name, oldData: B.plots().map((d) => d.data), click: null,
                       heading: null, first: null, points: 0, sends: [], recvs: [],
                       feeds: [], plotly: window.Plotly ? "before" : null });
  };
  const epochs = (body) => {  // epochs in a feed answer: curves[task][split][metric] = [x, y]
    let n = 0;
    for (const splits of Object.values(body.curves || {}))
      for (const metrics of Object.values(splits))
        for (const xy of Object.values(metrics)) n = Math.max(n, (xy[0] || []).length);
    return n;
  };
  const nativeFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = String((input && input.url) || input);
    const entry = B.expect && !B.first && url.includes("mtl/points") ? [now(), null, 0] : null;
    if (entry) B.feeds.push(entry);
    const reply = nativeFetch.call(this, input, init);
    if (entry) {
      reply.then((r) => r.clone().json())
        .then((body) => { entry[1] = now(); entry[2] = epochs(body); })
        .catch(() => { entry[1] = now(); });
    }
    return reply;
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        if (B.expect && !B.first) B.recvs.push([now(), e.data.byteLength ?? e.data.size ?? 0]);
      });
    }
    send(data) {
      if (B.expect && !B.first) B.sends.push([now(), data.byteLength ?? data.length ?? 0]);
      return super.send(data);
    }
  };
  document.addEventListener("click", () => { if (B.expect && !B.click) B.click = now(); }, true);
  // Custom components may draw inside shadow roots: remember every one.
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (...args) {
    const root = attach.apply(this, args);
    B.roots.push(root);
    if (B.observe) B.observe(root);
    return root;
  };
  const all = (selector) => B.roots.flatMap((r) => Array.from(r.querySelectorAll(selector)));
  B.plots = () => all(".js-plotly-plot");
  // Points Plotly has laid out per curve: gd.data may hold plotly.py's base64 arrays
  // ({dtype, bdata}, without a length), gd._fullData the decoded ones.
  B.points_of = (div) => {
    const curves = (div._fullData || []).filter((tr) => / · (train|val)$/.test(tr.name || ""));
    return Math.max(0, ...curves.map((tr) => tr._length ?? (tr.x || []).length));
  };
  // Streamlit marks elements left over from an older script run as stale.
  const fresh = (el) => {
    for (let node = el; node; node = node.getRootNode().host) {
      const box = node.closest('[data-testid="stElementContainer"]');
      if (box) return box.getAttribute("data-stale") !== "true";
    }
    return true;
  };
  B.check = () => {
    if (!B.expect || B.first) return;
    const t = now();
    if (!B.plotly && window.Plotly) B.plotly = t;
    if (!B.heading) {
      for (const h of all("h1, h2, h3, h4, h5, h6")) {
        if (h.textContent.trim() === B.expect && fresh(h)) { B.heading = t; break; }
      }
      if (!B.heading) return;
    }
    for (const div of B.plots()) {
      if (!div.data || B.oldData.includes(div.data) || !fresh(div)) continue;
      const n = B.points_of(div);
      if (n >= 1) { B.first = t; B.points = n; return; }
    }
  };
  const observer = new MutationObserver(B.check);
  B.observe = (root) => observer.observe(root, {
    subtree: true, childList: true, characterData: true,
    attributes: true, attributeFilter: ["data-stale"],
  });
  const start = () => {
    B.roots.forEach(B.observe);
    setInterval(B.check, 10);
  };
  if (document.documentElement) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
"""
PAGE_IDLE = """name => {
  const h = Array.from(document.querySelectorAll('h4')).some(e => e.textContent.trim() === name);
  return h && document.body.innerText.includes('completed · epoch')
    && document.querySelectorAll('[data-stale="true"]').length === 0;
}"""


# -----------------------------------------------------------------------------
# processes: the server, its descendants, their memory and CPU


def proc_table() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, name, CPU seconds) for every process we can read."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2 :].split()
        out[int(entry)] = (int(rest[1]), name, (int(rest[11]) + int(rest[12])) / tick)
    return out


def descendants(pid: int, table: dict | None = None) -> list[int]:
    table = table or proc_table()
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, (ppid, _, _) in table.items() if ppid == parent]
        found += kids
        todo += kids
    return found


def children(pid: int) -> list[int]:
    """``pid``'s child processes, from one small file (not a scan of /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pids: list[int]) -> float:
    table = proc_table()
    return sum(table[p][2] for p in pids if p in table)


def snapshot(tree: Path, into: Path) -> Path:
    """Copy the code the benchmark runs (app, core, Streamlit config): others may be
    editing the checkout, and Streamlit reloads edited modules mid-measurement."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("dashboard", "mtl_core", ".streamlit"):
        if (tree / part).exists():
            shutil.copytree(tree / part, into / part, ignore=skip)
    return into


class Server:
    """``streamlit run dashboard/serve.py`` of ``tree`` on a free port, output to a log file
    (started and stopped as the browser tests do: tests/e2e/conftest.py)."""

    def __init__(self, data_root: Path, tree: Path) -> None:
        self.tree = tree
        self.data_root = data_root
        data_root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = data_root / "runs.sqlite"
        self.log_path = data_root / "streamlit.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        entry = tree / "dashboard" / "serve.py"  # the launcher (make dashboard)
        if not entry.exists():  # a tree from before the launcher
            entry = tree / "dashboard" / "app.py"
        self.proc = start_app(
            data_root, self.port, root=tree, output=self._log, entry=entry, share_cache=False
        )
        self.pid = self.proc.pid

    def wait_healthy(self, timeout: float = 60) -> None:
        wait_healthy(self.url, self.proc, timeout, log=self.log)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def memory(self) -> dict:
        """RSS of the server process alone, and of each of its descendants (pool workers)."""
        table = proc_table()
        kids = descendants(self.pid, table)
        return {
            "server_mb": rss_mb(self.pid),
            "workers_mb": {f"{table[p][1]}[{p}]": rss_mb(p) for p in kids if p in table},
        }

    def stop(self) -> None:
        stop_app(self.proc)  # its own session: server and workers only
        self._log.close()


# -----------------------------------------------------------------------------
# the run store, read from outside


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def next_run_id(path: Path) -> int:
    if not path.exists():
        return 1
    with connect(path) as conn:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").fetchone()
    return (row[0] if row else 0) + 1


def run_row(path: Path, run_id: int) -> dict | None:
    conn = connect(path)
    try:
        row = conn.execute(
            "SELECT status, summary, created, heartbeat FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            return None
        wall = conn.execute(
            "SELECT count(*), sum(value) FROM metrics WHERE run_id = ? AND task = '_run'"
            " AND metric = 'wall_time' AND epoch > 0",
            (run_id,),
        ).fetchone()
    finally:
        conn.close()
    return {
        "status": row[0],
        "summary": json.loads(row[1]),
        "created": row[2],
        "heartbeat": row[3],
        "epochs": wall[0],
        "train_seconds": wall[1] or 0.0,
    }


def wait_run_done(path: Path, run_id: int, timeout: float, appear: float = 30) -> dict:
    """Wait for the run to end; give up early if the click never created it."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        row = run_row(path, run_id) if path.exists() else None
        if row and row["status"] not in LIVE:
            return row
        if row is None and time.monotonic() - start > appear:
            raise TimeoutError(f"run {run_id} was not created within {appear:.0f} s of the click")
        time.sleep(0.25)
    raise TimeoutError(f"run {run_id} did not finish in {timeout:.0f} s")


class ForkWatch(threading.Thread):
    """When the server's pool workers were forked (``time.time()``), polled every 50 ms
    until halted (after the cold click: the polls would otherwise run beside every later
    measurement).

    They are the server's grandchildren: forks of the forkserver, which serves them only
    once its preload (PyTorch and the worker's code) is done, and not
    before the first page's script run asks for them. A cold click that comes earlier
    waits for them."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.seen: dict[int, float] = {}  # pid -> when first seen
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.05):
            for child in children(self.pid):
                for pid in children(child):
                    self.seen.setdefault(pid, time.time())

    def forked(self) -> list[float]:
        """When each worker still alive was first seen, in order (the forkserver also
        forks a short-lived process of its own, which is left out)."""
        return sorted(t for pid, t in self.seen.items() if Path(f"/proc/{pid}").exists())


class StoreWatch(threading.Thread):
    """Polls one run every 5 ms: when it was created, picked up, and its epoch 0 stored.

    ``set_status('running')`` and ``append_epoch`` stamp the run's heartbeat in the same
    write, so when a poll first sees the new state the heartbeat gives its exact time.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.run_id: int | None = None
        self.seen: dict[str, float] = {}
        self.halt = threading.Event()

    def watch(self, run_id: int) -> None:
        self.seen = {}
        self.run_id = run_id

    def run(self) -> None:
        conn = None
        while not self.halt.wait(0.005):
            run_id, seen = self.run_id, self.seen
            if run_id is None or "epoch0" in seen or not self.path.exists():
                continue
            conn = conn or connect(self.path)
            row = conn.execute(
                "SELECT created, status, heartbeat,"
                " (SELECT max(epoch) FROM metrics WHERE run_id = ?) FROM runs WHERE id = ?",
                (run_id, run_id),
            ).fetchone()
            polled = time.time()
            if row is None:
                continue
            created, status, beat, epoch = row
            seen.setdefault("created", created)
            if status != "queued" and "running" not in seen:
                seen["running"] = beat if epoch is None else polled
            if epoch is not None:
                seen["epoch0"] = beat if epoch == 0 else polled
        if conn is not None:
            conn.close()


# -----------------------------------------------------------------------------
# 1. click to first point


# When Train first shows, by the page's own clock, checked at every animation frame.
# Playwright's ``wait_for`` polls at growing intervals (up to 500 ms apart): timed by it
# alone, a reload whose Train showed 0.56 s after the reload read 1.02 s. Also when the
# sidebar's setup shows (its Dataset box): a session's first script run leaves the setup
# out, and the page asks for it once painted (mtl_core/dashboard/widgets/after_paint.py).
TRAIN_SEEN = """
(() => {
  const visible = (el) => el && el.checkVisibility() && el.getBoundingClientRect().width > 0;
  const seen = () => {
    const train = [...document.querySelectorAll("button")]
      .find((b) => b.textContent.trim() === "Train");
    const setup = [...document.querySelectorAll("[data-testid=stSidebar] [data-testid=stWidgetLabel]")]
      .find((l) => l.textContent.trim() === "Dataset");
    if (!window.__trainSeen && visible(train)) window.__trainSeen = Date.now();
    if (!window.__setupSeen && visible(setup)) window.__setupSeen = Date.now();
    if (!window.__trainSeen || !window.__setupSeen) requestAnimationFrame(seen);
  };
  requestAnimationFrame(seen);
})();
"""


def train_shown(page, started: float) -> float:
    """Seconds from ``started`` (``time.time()`` before the navigation) to Train visible,
    by the page's clock (``TRAIN_SEEN``, installed before the navigation): waits for it."""
    page.wait_for_function("() => window.__trainSeen", timeout=60_000)
    return round(page.evaluate("window.__trainSeen") / 1000 - started, 3)


def setup_after_train(page) -> float:
    """Seconds from Train visible to the sidebar's setup visible (``TRAIN_SEEN``)."""
    page.wait_for_function("() => window.__setupSeen && window.__trainSeen", timeout=60_000)
    return round(page.evaluate("window.__setupSeen - window.__trainSeen") / 1000, 3)


def open_page(browser, url: str) -> tuple:
    """A new visitor's page (a new browser context) on ``url``: the page, its Train
    button and the seconds from ``goto`` to Train visible."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(PAGE_PROBE)
    page.add_init_script(TRAIN_SEEN)
    started = time.time()
    page.goto(url)
    shown = train_shown(page, started)
    train = page.get_by_role("button", name="Train", exact=True)
    train.wait_for(timeout=60_000)
    return page, train, shown


def reloads(browser, url: str, n: int = 3) -> list[float]:
    """A returning visitor's page loads: one browser context opens the page, then reloads
    it ``n`` times, each timed to Train visible. Its HTTP cache then holds Streamlit's
    scripts and Plotly.js (served immutable or for a day), which a new context fetches and
    compiles afresh; the later-load target is measured on new contexts, this beside it."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.add_init_script(TRAIN_SEEN)
        started = time.time()
        page.goto(url)
        train_shown(page, started)
        times = []
        for _ in range(n):
            started = time.time()
            page.reload()
            times.append(train_shown(page, started))
        return times
    finally:
        context.close()


def click_to_first_point(page, train, server: Server, watch: StoreWatch) -> dict:
    """Click Train once; return the timeline of the new run, in seconds after the click."""
    run_id = next_run_id(server.store)
    page.evaluate("name => window.__bench.arm(name)", f"run {run_id}")  # charts drawn by now
    watch.watch(run_id)
    workers = descendants(server.pid)
    cpu0 = {p: cpu_seconds([p]) for p in workers}
    train.click()
    page.wait_for_function("() => window.__bench.first !== null", timeout=120_000, polling=50)
    probe = page.evaluate(
        "() => { const B = window.__bench; return {click: B.click, heading: B.heading,"
        " first: B.first, points: B.points, sends: B.sends, recvs: B.recvs,"
        " feeds: B.feeds, plotly: B.plotly}; }"
    )
    done = wait_run_done(server.store, run_id, timeout=300)
    watch.run_id = None
    busiest = max(workers, key=lambda p: cpu_seconds([p]) - cpu0[p], default=None)
    click = probe["click"] / 1000
    first = probe["first"] / 1000
    sends = [t / 1000 for t, _ in probe["sends"]]
    # The request whose rerun brought the first point: the click's own rerun (the first
    # message sent) or a later poll of the fragment.
    tick = max((t for t in sends if t <= first), default=None)
    by_click = bool(sends) and tick == sends[0]
    received = max((t / 1000 for t, _ in probe["recvs"] if t / 1000 <= first), default=None)
    # The chart's feed brought the point when an answer with epochs came after the last
    # WebSocket message before the draw.
    fed = [
        (asked / 1000, answered / 1000)
        for asked, answered, n in probe["feeds"]
        if answered is not None and n > 0 and answered / 1000 <= first
    ]
    by_feed = bool(fed) and (received is None or fed[0][1] >= received)
    plotly = probe["plotly"]
    seen = dict(watch.seen)

    def after(t: float | None) -> float | None:
        return None if t is None else round(t - click, 4)

    return {
        "run_id": run_id,
        "status": done["status"],
        "clicked_at": click,  # time.time() of the click
        "latency": round(first - click, 4),
        "points_at_first_draw": probe["points"],
        "worker_pid": busiest,  # the pool worker that used the most CPU meanwhile
        "timeline": {  # seconds after the click
            "created": after(seen.get("created")),
            "worker_running": after(seen.get("running")),
            "epoch0_committed": after(seen.get("epoch0")),
            "heading_drawn": after(probe["heading"] and probe["heading"] / 1000),
            "poll_sent": None if by_click or by_feed else after(tick),
            "last_message_before_draw": after(received),
            "feed_asked": after(fed[0][0]) if by_feed else None,
            "feed_answered": after(fed[0][1]) if by_feed else None,
            "plotly_ready": None if plotly in (None, "before") else after(plotly / 1000),
            "first_point_drawn": round(first - click, 4),
        },
        "first_point_from": "the chart's feed"
        if by_feed
        else "the click's rerun"
        if by_click
        else "a fragment poll",
        "messages_sent": len(sends),
    }


def lessons_clicks(browser, server: Server, watch: StoreWatch, n: int = 3) -> dict:
    """What another newcomer meets on the warm server: a new page (its own browser
    context), left idle until Plotly.js has loaded, then Train clicked on the lessons it
    opens on. The click switches the page from the lessons to the Live view (its chart
    options, progress line, buttons and chart are new elements); the warm clicks below
    start from the Live view, where only the run changes."""
    clicks = []
    for i in range(n):
        # a seed of its own: the same setup again would be offered its stored run
        page, train, _ = open_page(browser, f"{server.url}/?seed={1000 + i}")
        try:
            page.wait_for_function("() => !!window.Plotly", timeout=60_000)
            time.sleep(1.0)
            one = click_to_first_point(page, train, server, watch)
            wait_page_idle(page, one["run_id"])
        except Exception as exc:  # a timeout: record it, go on
            one = {"error": repr(exc)[:300]}
        finally:
            page.close()
        clicks.append(one)
    latencies = [c["latency"] for c in clicks if "latency" in c]
    heading = [c["timeline"]["heading_drawn"] for c in clicks if "timeline" in c]
    print(
        f"  click on the lessons of a new page (warm server, Plotly.js loaded):"
        f" {', '.join(f'{t:.3f}' for t in latencies)} s"
        f" (the run's heading drawn at {', '.join(seconds(t) for t in heading)} s)"
        + "".join(f"; {c['error']}" for c in clicks if "error" in c)
    )
    return {
        "clicks": clicks,
        "median_s": statistics.median(latencies) if latencies else None,
    }


def split(timeline: dict) -> dict:
    """Where the time goes: consecutive stretches of one click's timeline (None: n/a).

    The point arrives with the rerun the click itself started (epoch 0 was stored in
    time), with a later poll of the fragment, or through the chart's own feed (the
    launcher's mtl/points route, which a live chart asks every 0.1 s until its first
    point). A WebSocket reply is taken as the last message before the point was drawn.
    When Plotly.js became ready only after the click, that moment is a stretch of its own.
    """
    t = timeline
    fed = t.get("feed_answered") is not None
    asked = t["poll_sent"] if t["poll_sent"] is not None else t["epoch0_committed"]
    stages = [
        ("click -> run created (script rerun up to manager.start)", 0.0, t["created"]),
        ("created -> worker running (pool pickup)", t["created"], t["worker_running"]),
        (
            "running -> epoch 0 committed (model + first evaluation)",
            t["worker_running"],
            t["epoch0_committed"],
        ),
        ("click -> Plotly.js ready (loaded after the click)", 0.0, t.get("plotly_ready")),
        ("epoch 0 committed -> the page polls the fragment", t["epoch0_committed"], t["poll_sent"]),
        (
            "poll sent (or epoch 0 stored) -> reply received (server rerun)",
            None if fed else asked,
            t["last_message_before_draw"],
        ),
        (
            "reply received -> first point drawn (browser)",
            None if fed else t["last_message_before_draw"],
            t["first_point_drawn"],
        ),
        (
            "epoch 0 committed -> the chart asks its feed",
            t["epoch0_committed"],
            t.get("feed_asked"),
        ),
        ("the feed asked -> answered (mtl/points)", t.get("feed_asked"), t.get("feed_answered")),
        (
            "the feed answered -> first point drawn (browser)",
            t.get("feed_answered"),
            t["first_point_drawn"],
        ),
    ]
    return {name: None if a is None or b is None else round(b - a, 4) for name, a, b in stages}


def wait_page_idle(page, run_id: int) -> None:
    try:
        page.wait_for_function(PAGE_IDLE, arg=f"run {run_id}", timeout=60_000, polling=100)
    except Exception as exc:
        text = page.evaluate(
            "() => [document.body.innerText.slice(0, 600),"
            " document.querySelectorAll('[data-stale=\"true\"]').length]"
        )
        raise RuntimeError(f"the page did not settle on run {run_id}: {text!r}") from exc
    time.sleep(1.0)  # the completion rerun and its last redraw


# -----------------------------------------------------------------------------
# 2. throughput, headless and with the page open


def rate(row: dict) -> dict:
    elapsed = row["summary"].get("elapsed")
    epochs = row["epochs"]
    return {
        "epochs": epochs,
        "elapsed_s": elapsed,
        "train_s": round(row["train_seconds"], 3),
        "epochs_per_s": round(epochs / elapsed, 2) if elapsed else None,
        "train_epochs_per_s": round(epochs / row["train_seconds"], 2) if epochs else None,
    }


def headless_run(tree: Path, data_root: Path, epochs: int) -> dict:
    """The CLI in its own process; its CPU time is sampled to tell its share of a core."""
    store = data_root / f"headless-{time.monotonic_ns()}.sqlite"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mtl_core",
            "train",
            "--epochs",
            str(epochs),
            "--threads",
            "1",
            "--store",
            str(store),
            "--quiet",
        ],
        cwd=tree,
        env={**os.environ, "MTL_DATA_ROOT": str(data_root)},
        stdout=subprocess.DEVNULL,
    )
    samples = []  # (time.time(), CPU seconds)
    while proc.poll() is None:
        cpu = cpu_by_pid([proc.pid]).get(proc.pid)
        if cpu is not None:
            samples.append((time.time(), cpu))
        time.sleep(0.2)
    if proc.returncode != 0:
        raise RuntimeError(f"the CLI failed with exit status {proc.returncode}")
    row = run_row(store, 1)
    inside = [s for s in samples if row["created"] <= s[0] <= row["heartbeat"]]
    share = None
    if len(inside) >= 2:
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        share = round((c1 - c0) / (t1 - t0), 3)
    return {**rate(row), "cpu_share": share}


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    table = proc_table()
    return {p: table[p][2] for p in pids if p in table}


def cpu_used(before: dict[int, float], pids: list[int]) -> float:
    """CPU seconds used since ``before`` by those of ``pids`` still alive."""
    after = cpu_by_pid(pids)
    return sum(after[p] - before[p] for p in after if p in before)


def page_run(browser, server: Server, epochs: int, *, keep_open: bool) -> dict:
    """One run started from the dashboard; the page stays open (and polls) or is closed
    as soon as the run exists (the control: the same worker, nobody watching)."""
    page, train, _ = open_page(browser, f"{server.url}/?epochs={epochs}")
    run_id = next_run_id(server.store)
    table = proc_table()
    groups = {
        "server": [server.pid],
        "chromium": [p for p in descendants(os.getpid(), table) if "chrom" in table[p][1]],
        "workers": descendants(server.pid, table),
    }
    before = {k: cpu_by_pid(v) for k, v in groups.items()}
    tic = time.monotonic()
    train.click()
    drawn = None
    try:
        if not keep_open:
            deadline = time.monotonic() + 30
            while run_row(server.store, run_id) is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"run {run_id} was not created within 30 s of the click")
                time.sleep(0.05)
            page.close()
        row = wait_run_done(server.store, run_id, timeout=epochs * 2 + 120)
        wall = time.monotonic() - tic
        used = {k: cpu_used(before[k], v) for k, v in groups.items()}  # with its renderer
        if keep_open:
            drawn = page.evaluate(
                "() => Math.max(0, ...window.__bench.plots().map(window.__bench.points_of))"
            )
    finally:
        if not page.is_closed():
            page.close()
    speed = rate(row)
    return {
        **speed,
        "status": row["status"],
        "points_drawn": drawn,
        "cpu_s_per_s": {k: round(v / wall, 3) for k, v in used.items() if k != "workers"},
        # CPU seconds of the pool workers (one busy, one idle) per second of the run:
        # below 1, the training waited for a core
        "cpu_share": round(used["workers"] / speed["elapsed_s"], 3),
    }


# -----------------------------------------------------------------------------
# 3. memory over a live 300-epoch run


def memory_run(browser, server: Server, every: float) -> dict:
    page, train, _ = open_page(browser, f"{server.url}/?epochs={MEMORY_EPOCHS}")
    samples = []

    def sample(phase: str) -> None:
        samples.append({"t": round(time.monotonic() - t0, 2), "phase": phase, **server.memory()})

    try:
        t0 = time.monotonic()
        for _ in range(4):  # the page open and idle
            sample("before")
            time.sleep(every)
        run_id = next_run_id(server.store)
        train.click()
        while True:
            sample("running")
            row = run_row(server.store, run_id) if server.store.exists() else None
            if row and row["status"] not in LIVE:
                break
            time.sleep(every)
        wait_page_idle(page, run_id)
        for _ in range(int(5 / every)):  # the page open and idle again
            sample("after")
            time.sleep(every)
        sample("after")
    finally:
        page.close()
    server_mb = [s["server_mb"] for s in samples]
    start = samples[3]["server_mb"]  # just before the click
    end = samples[-1]["server_mb"]
    return {
        "run_id": run_id,
        "status": row["status"],
        "start_mb": round(start, 1),
        "peak_mb": round(max(server_mb), 1),
        "end_mb": round(end, 1),
        "growth_mb": round(end - start, 1),
        "workers_start_mb": samples[3]["workers_mb"],
        "workers_end_mb": samples[-1]["workers_mb"],
        "samples": samples,
    }


# -----------------------------------------------------------------------------
# the three targets, printed as they are measured


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def seconds(value: float | None) -> str:
    return "   -" if value is None else f"{value:.3f}"


def print_split(parts: dict) -> None:
    """The stretches that apply (a point comes one way: the others are None)."""
    for name, value in parts.items():
        if value is not None:
            print(f"      {name:<68} {seconds(value)}")


def bench_latency(
    browser, server: Server, watch: StoreWatch, reps: int, forks: ForkWatch, healthy_at: float
) -> dict:
    """``healthy_at``: time.time() when the server answered its health check."""
    print("\n1. click on Train -> first plotted point (default setup)")
    page, train, loaded = open_page(browser, f"{server.url}/")
    shown_at = time.time()
    cold = click_to_first_point(page, train, server, watch)
    cold["page_load_s"] = round(loaded, 3)
    # After the server answered: the page showed, the workers were forked, the click
    cold["after_healthy_s"] = {
        "page_shown": round(shown_at - healthy_at, 3),
        "workers_forked": [round(t - healthy_at, 3) for t in forks.forked()],
        "clicked": round(cold["clicked_at"] - healthy_at, 3),
    }
    forks.halt.set()
    cold_ok = cold["latency"] <= TARGET_COLD and loaded <= TARGET_FIRST_PAGE
    print(
        f"  first page (fresh server, goto -> Train visible): {loaded:.2f} s"
        f"  target <= {TARGET_FIRST_PAGE} s: {verdict(loaded <= TARGET_FIRST_PAGE)}"
    )
    print(
        f"  cold (first click after launch): {cold['latency']:.3f} s"
        f"  target <= {TARGET_COLD} s: {verdict(cold['latency'] <= TARGET_COLD)}"
    )
    print_split(split(cold["timeline"]))
    after = cold["after_healthy_s"]
    print(
        f"  after the server answered: the first page showed at {after['page_shown']:.2f} s,"
        f" the pool workers were forked at"
        f" {', '.join(f'{t:.2f}' for t in after['workers_forked']) or '(none seen)'} s"
        f" (the forkserver's preload done), the click came at {after['clicked']:.2f} s"
    )
    wait_page_idle(page, cold["run_id"])
    later, setups = [], []
    for _ in range(3):  # later page loads, the server warm
        other, _, shown = open_page(browser, f"{server.url}/")
        later.append(shown)
        setups.append(round(shown + setup_after_train(other), 3))
        other.close()
    later_ok = max(later) <= TARGET_PAGE
    print(
        f"  later page loads: {', '.join(f'{t:.2f}' for t in later)} s"
        f"  target <= {TARGET_PAGE} s: {verdict(later_ok)}"
    )
    print(
        f"  their setup (the sidebar's controls, drawn once the page is painted) showed at"
        f" {', '.join(f'{t:.2f}' for t in setups)} s"
    )
    again = reloads(browser, f"{server.url}/")
    print(
        f"  reloads in one browser (its HTTP cache warm, not the target's measure):"
        f" {', '.join(f'{t:.2f}' for t in again)} s"
    )
    time.sleep(3)  # let the other pool worker finish its start-up too
    fresh = lessons_clicks(browser, server, watch)
    used, warm = {cold["worker_pid"]}, []
    for i in range(reps):
        try:
            # Another seed each time, typed into the sidebar of the same page: the same
            # setup again would be offered its stored run (widgets/identical.py).
            seed = page.get_by_label("Seed", exact=True)
            if not seed.is_visible():
                page.get_by_text("Training", exact=True).click()
            seed.fill(str(i + 1))
            seed.press("Enter")
            page.wait_for_function(
                "s => location.search.includes('seed=' + s)", arg=str(i + 1), timeout=30_000
            )
            time.sleep(1.0)  # the rerun's redraw
            one = click_to_first_point(page, train, server, watch)
            wait_page_idle(page, one["run_id"])
        except Exception as exc:  # a timeout: record it, go on
            one = {"error": repr(exc)[:300]}
            print(f"  warm {i + 1}: {one['error']}")
            warm.append(one)
            continue
        one["first_run_on_worker"] = one["worker_pid"] not in used
        used.add(one["worker_pid"])
        warm.append(one)
        t = one["timeline"]
        came = (
            f"the chart's feed answered at {t['feed_answered']:.3f} s"
            if t.get("feed_answered") is not None
            else f"the page polled at {t['poll_sent']:.3f} s"
            if t["poll_sent"] is not None
            else "drawn by the click's own rerun"
        )
        print(
            f"  warm {i + 1}: {one['latency']:.3f} s (worker {one['worker_pid']}"
            f"{', its first run' if one['first_run_on_worker'] else ''};"
            f" epoch 0 stored at {seconds(t['epoch0_committed'])} s, {came})"
        )
    page.close()
    latencies = [w["latency"] for w in warm if "latency" in w]
    median = statistics.median(latencies) if latencies else float("inf")
    parts = [split(w["timeline"]) for w in warm if "timeline" in w]
    median_split = {}
    for name in dict.fromkeys(name for p in parts for name in p):
        values = [p[name] for p in parts if p[name] is not None]
        median_split[name] = statistics.median(values) if values else None
    # The line's verdict is the warm median's own; "pass" (the summary) needs every
    # target of this part (the first page, the cold click and the later loads too)
    warm_ok = median <= TARGET_LATENCY
    ok = warm_ok and cold_ok and later_ok
    print(
        f"  warm median of {len(latencies)}: {median:.3f} s (min {min(latencies, default=0):.3f},"
        f" max {max(latencies, default=0):.3f})  target <= {TARGET_LATENCY:.1f} s: {verdict(warm_ok)}"
    )
    print("  warm median split:")
    print_split(median_split)
    return {
        "cold": cold,
        "later_page_loads_s": later,
        "later_setup_shown_s": setups,
        "reloads_s": again,
        "lessons_clicks": fresh,
        "targets": {
            "first_page_s": TARGET_FIRST_PAGE,
            "later_page_s": TARGET_PAGE,
            "cold_click_s": TARGET_COLD,
            "warm_click_s": TARGET_LATENCY,
        },
        "warm": warm,
        "warm_median_s": median,
        "warm_min_s": min(latencies, default=None),
        "warm_max_s": max(latencies, default=None),
        "warm_median_split_s": median_split,
        "target_s": TARGET_LATENCY,
        "warm_pass": warm_ok,
        "pass": ok,
    }


BARE_PAGE = '''"""The floor of bench_ui.py: a page with nothing but the Train button and the title."""
import streamlit as st

st.sidebar.button("Train", type="primary", width="stretch")
st.title("Multi-task learning curves")
'''


def bench_floor(browser, tmp: Path, loads: int = 3) -> dict:
    """Streamlit's own page load on this machine: the same measure (a fresh browser
    context, to Train visible) on a page with nothing but the Train button, served with
    the project's Streamlit settings. No page of the dashboard loads faster; the distance
    to it is what the dashboard's own elements cost."""
    tree = tmp / "bare"
    (tree / "dashboard").mkdir(parents=True)
    shutil.copytree(ROOT / ".streamlit", tree / ".streamlit")
    (tree / "dashboard" / "serve.py").write_text(BARE_PAGE)
    server = Server(tmp / "bare-data", tree)
    times = []
    try:
        server.wait_healthy()
        for _ in range(1 + loads):
            page, _, shown = open_page(browser, f"{server.url}/")
            times.append(shown)
            page.close()
        again = reloads(browser, f"{server.url}/")
    finally:
        server.stop()
    print(
        f"  Streamlit's own floor here (a page with only the Train button): first page"
        f" {times[0]:.2f} s, later page loads {', '.join(f'{t:.2f}' for t in times[1:])} s,"
        f" reloads in one browser {', '.join(f'{t:.2f}' for t in again)} s"
    )
    return {"first_page_s": times[0], "later_page_loads_s": times[1:], "reloads_s": again}


def bench_throughput(browser, server: Server, data_root: Path, epochs: int, rounds: int) -> dict:
    print(
        f"\n2. throughput: default config, {epochs} epochs, threads=1, epochs/s over the"
        " run's elapsed time (training only in brackets)"
    )
    kinds = {
        "headless": "headless CLI",
        "page_open": "dashboard, page open",
        "page_closed": "dashboard, page closed",
    }
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    for i in range(rounds):
        for kind, label in kinds.items():
            if kind == "headless":
                one = headless_run(server.tree, data_root, epochs)
            else:
                one = page_run(browser, server, epochs, keep_open=kind == "page_open")
            one["loadavg_after"] = os.getloadavg()[0]
            runs[kind].append(one)
            share = one["cpu_share"]
            extra = f"; CPU s/s: trainer {share:.2f}" if share is not None else ""
            if "cpu_s_per_s" in one:
                cpu = one["cpu_s_per_s"]
                extra += f", server {cpu['server']:.2f}, chromium {cpu['chromium']:.2f}"
            print(
                f"  {i + 1} {label:<22} {one['epochs_per_s']:5.1f} epochs/s"
                f" ({one['train_epochs_per_s']:.1f}) in {one['elapsed_s']:.2f} s"
                f"{extra}; load {one['loadavg_after']:.1f}"
            )
    median = {k: statistics.median(r["epochs_per_s"] for r in v) for k, v in runs.items()}
    train_only = {k: statistics.median(r["train_epochs_per_s"] for r in v) for k, v in runs.items()}
    ratio = median["page_open"] / median["headless"]
    ok = ratio >= TARGET_RATIO
    print(
        f"  medians (epochs/s): headless {median['headless']:.1f}, page open"
        f" {median['page_open']:.1f}, page closed {median['page_closed']:.1f}"
    )
    print(
        f"  page open / headless: {ratio:.3f} (training only"
        f" {train_only['page_open'] / train_only['headless']:.3f})"
        f"  target >= {TARGET_RATIO}: {verdict(ok)}"
    )
    print(
        f"  page closed / headless: {median['page_closed'] / median['headless']:.3f};"
        f" page open / page closed: {median['page_open'] / median['page_closed']:.3f}"
    )
    shares = {}
    for kind, items in runs.items():
        values = [r["cpu_share"] for r in items if r["cpu_share"] is not None]
        shares[kind] = statistics.median(values) if values else None
    print(
        "  trainer's share of a core (CPU s per s; 1.0 = never waited): "
        + ", ".join(f"{k} {v:.2f}" for k, v in shares.items() if v is not None)
    )
    return {
        "epochs": epochs,
        "runs": runs,
        "median_eps": median,
        "median_training_only_eps": train_only,
        "ratio": ratio,
        "ratio_page_closed": median["page_closed"] / median["headless"],
        "median_cpu_share": shares,
        "target": TARGET_RATIO,
        "pass": ok,
    }


def bench_memory(browser, server: Server, every: float) -> dict:
    print(f"\n3. server memory over a live {MEMORY_EPOCHS}-epoch run")
    mem = memory_run(browser, server, every)
    mem["target_mb"] = TARGET_GROWTH
    mem["pass"] = mem["growth_mb"] <= TARGET_GROWTH
    print(
        f"  server RSS: start {mem['start_mb']} MB, peak {mem['peak_mb']} MB,"
        f" end {mem['end_mb']} MB, growth {mem['growth_mb']:+.1f} MB"
        f"  target <= {TARGET_GROWTH:.0f} MB: {verdict(mem['pass'])}"
    )
    workers = ", ".join(f"{k} {v:.0f}" for k, v in mem["workers_end_mb"].items() if v)
    print(f"  descendants at the end (MB): {workers}")
    return mem


def fmt_mem(memory: dict) -> str:
    workers = ", ".join(f"{k} {v:.0f}" for k, v in memory["workers_mb"].items() if v)
    return f"server {memory['server_mb']:.1f} MB; descendants: {workers or 'none'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="warm clicks (default 5)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of headless / page-open / page-closed runs (default 3)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=600,
        help="epochs of the throughput runs (default 600: >10 s here)",
    )
    parser.add_argument(
        "--sample-every",
        type=float,
        default=0.5,
        help="seconds between memory samples (default 0.5)",
    )
    parser.add_argument(
        "--tree",
        type=Path,
        default=ROOT,
        help="the project tree to measure (default: this checkout); it is "
        "copied first, so edits made meanwhile do not reach the server",
    )
    parser.add_argument(
        "--only-latency",
        action="store_true",
        help="measure page loads, clicks and the server's memory after them; skip the "
        "throughput and live-memory runs",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    load = os.getloadavg()
    print(
        f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        f" ({os.cpu_count()} cores; other processes slow every number here)"
    )
    result: dict = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_start": load,
        "tree": str(args.tree),
        "memory_timeline": [],
    }
    tmp = Path(tempfile.mkdtemp(prefix="bench_ui-"))
    server = Server(tmp, snapshot(args.tree.resolve(), tmp / "tree"))
    watch = StoreWatch(server.store)
    watch.start()
    forks = ForkWatch(server.pid)
    forks.start()

    def note_memory(phase: str) -> None:
        memory = server.memory()
        result["memory_timeline"].append({"phase": phase, **memory})
        print(f"  [RSS {phase}] {fmt_mem(memory)}")

    try:
        tic = time.monotonic()
        server.wait_healthy()
        healthy_at = time.time()
        print(f"server healthy after {time.monotonic() - tic:.1f} s (pid {server.pid})")
        note_memory("launched")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                result["latency"] = bench_latency(
                    browser, server, watch, args.reps, forks, healthy_at
                )
                note_memory("after the clicks")
                result["floor"] = bench_floor(browser, tmp)
                server_mb = result["memory_timeline"][-1].get("server_mb")
                result["server_rss"] = {
                    "after_clicks_mb": server_mb,
                    "target_mb": TARGET_RSS,
                    "pass": server_mb is not None and server_mb <= TARGET_RSS,
                }
                print(
                    f"  server RSS after page loads and {args.reps + 1} runs: {server_mb} MB"
                    f"  target <= {TARGET_RSS:.0f} MB: {verdict(result['server_rss']['pass'])}"
                )
                if not args.only_latency:
                    result["throughput"] = bench_throughput(
                        browser, server, tmp, args.epochs, args.rounds
                    )
                    note_memory("after the throughput runs")
                    result["memory"] = bench_memory(browser, server, args.sample_every)
                    note_memory("end")
            finally:
                browser.close()
    finally:
        watch.halt.set()
        forks.halt.set()
        server.stop()
        log = server.log()
        result["server_tracebacks"] = log.count("Traceback")
        if "Traceback" in log:
            print(f"\nthe server logged a traceback:\n{log[-3000:]}")
        shutil.rmtree(tmp, ignore_errors=True)

    result["loadavg_end"] = os.getloadavg()
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in result['loadavg_end'])}")
    parts = [k for k in ("latency", "server_rss", "throughput", "memory") if k in result]
    print("summary: " + ", ".join(f"{k} {verdict(result[k]['pass'])}" for k in parts))
    write_results(OUT_PATH, result)
    passed = all(result[k]["pass"] for k in parts)
    return 0 if passed or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())

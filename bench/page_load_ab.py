"""Which of two trees shows the page sooner: page loads of both, alternated, one browser.

Page loads on this 2-core machine scatter by half a second from one to the next (the
browser's work shares the cores with everything else), so a change worth a tenth of a
second to a page load is invisible in a few loads of each tree measured one after the
other. This benchmark serves both trees at once (``streamlit run dashboard/serve.py``
from a copy of each, as bench_ui.py does, each on an empty data folder), waits until
both are idle, then loads the page in a new browser context (a new visitor: nothing
cached) from each in turn, A B B A A B ..., and times each load from ``goto`` to the
Train button being visible, by the page's own clock (``bench_ui.TRAIN_SEEN``), and
to the sidebar's setup visible (drawn after the first paint). It prints every load and, per tree, the first load and the
median and range of the later ones, and writes them to ``bench/out/page_load_ab.json``.
With ``--reload`` each tree's page stays open in one browser context and every load after
its first is a reload (a returning visitor: Streamlit's scripts in the HTTP cache), so
what is left is the page's own rendering rather than Streamlit's scripts fetched afresh.

    .venv/bin/python bench/page_load_ab.py --tree /tmp/before --tree /tmp/after [--loads 12] [--reload]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_ui import (  # noqa: E402
    TRAIN_SEEN,
    Server,
    setup_after_train,
    snapshot,
    train_shown,
)
from bench.results import write_results  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT_PATH = ROOT / "bench" / "out" / "page_load_ab.json"
SETTLE_S = 8.0  # after both answer: their forkservers' preloads end meanwhile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, action="append", required=True, help="twice")
    parser.add_argument("--loads", type=int, default=12, help="page loads of each tree")
    parser.add_argument(
        "--reload", action="store_true", help="reload one page per tree instead of new contexts"
    )
    args = parser.parse_args()
    if len(args.tree) != 2 or not all((t / "dashboard").is_dir() for t in args.tree):
        parser.error("give --tree twice, each a project tree (with a dashboard/ folder)")
    if args.loads < 2:
        parser.error("--loads must be at least 2 (the first load of each is reported apart)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        servers = [
            Server(Path(tmp) / f"data{k}", snapshot(tree.resolve(), Path(tmp) / f"tree{k}"))
            for k, tree in enumerate(args.tree)
        ]
        times: list[list[float]] = [[], []]
        setups: list[list[float]] = [[], []]  # the sidebar's setup visible
        try:
            for server in servers:
                server.wait_healthy()
            time.sleep(SETTLE_S)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                kept = {}  # --reload: each tree's page, open from its first load on
                for i in range(2 * args.loads):
                    k = (i + i // 2) % 2  # A B B A A B B A ...
                    page = kept.get(k)
                    if page is None:
                        context = browser.new_context(viewport={"width": 1400, "height": 1000})
                        page = context.new_page()
                        page.add_init_script(TRAIN_SEEN)
                    start = time.time()
                    if k in kept:
                        page.reload()
                    else:
                        page.goto(servers[k].url)
                    times[k].append(train_shown(page, start))
                    setups[k].append(round(times[k][-1] + setup_after_train(page), 3))
                    print(
                        f"load {i:2d}: tree {'AB'[k]} {times[k][-1]:.2f} s"
                        f" (setup {setups[k][-1]:.2f} s)",
                        flush=True,
                    )
                    time.sleep(1.5)  # the page's own work after Train shows (Plotly.js)
                    if args.reload:
                        kept[k] = page
                    else:
                        page.context.close()
                    time.sleep(0.5)
                browser.close()
        finally:
            for server in servers:
                server.stop()
    result = {"trees": [str(t) for t in args.tree], "loads": args.loads, "train_visible_s": {}}
    for k, tree in enumerate(args.tree):
        later = times[k][1:]
        summary = {
            "first": round(times[k][0], 3),
            "later_median": round(statistics.median(later), 3),
            "later_range": [round(min(later), 3), round(max(later), 3)],
            "all": [round(t, 3) for t in times[k]],
            "setup_visible_all": setups[k],
        }
        result["train_visible_s"]["AB"[k]] = summary
        print(
            f"tree {'AB'[k]} ({tree}): first page {summary['first']:.2f} s; later loads median"
            f" {summary['later_median']:.2f} s ({summary['later_range'][0]:.2f}-"
            f"{summary['later_range'][1]:.2f}, {len(later)} loads); the setup showed at"
            f" {setups[k][0]:.2f} s first, median {statistics.median(setups[k][1:]):.2f} s later"
        )
    write_results(OUT_PATH, result)


if __name__ == "__main__":
    main()

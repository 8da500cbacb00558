"""Benchmark: what serving Streamlit's own files costs the dashboard server.

A page load fetches about a hundred of Streamlit's files (its scripts, styles and fonts,
then each widget's code as its first element arrives), all from the one server process
whose event loop also answers the live charts. This serves each ``--tree`` (a copy, as
bench_ui.py does, on an empty data folder), loads the page once in headless Chromium to
learn which files a page load asks for, then fetches those same files with a plain HTTP
client, one after another (the server's time per file, the client's small share
included) and six at a time (as a browser does), ``--rounds`` times. It prints the count
and size of the files and, per round, the sum, median and largest time of the sequential
fetches and the wall time of the parallel ones, and writes them to
``bench/out/bench_static.json``.

    .venv/bin/python bench/bench_static.py [--tree A [--tree B]] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_ui import Server, snapshot  # noqa: E402
from bench.results import write_results  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT_PATH = ROOT / "bench" / "out" / "bench_static.json"
SETTLE_S = 8.0  # after the server answers: its forkserver's preload ends meanwhile


def page_files(url: str) -> list[str]:
    """The URLs of Streamlit's static files that one page load (to Train visible, then a
    second for the page's own late requests) asks for."""
    from playwright.sync_api import sync_playwright

    asked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context().new_page()
        page.on("request", lambda request: asked.append(request.url))
        page.goto(url)
        page.get_by_role("button", name="Train", exact=True).wait_for(timeout=60_000)
        time.sleep(1.0)
        browser.close()
    return [u for u in dict.fromkeys(asked) if u.startswith(f"{url}/static/")]


def fetch(url: str) -> tuple[float, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        size = len(response.read())
    return time.perf_counter() - start, size


def measure(tree: Path, rounds: int, into: Path) -> dict:
    server = Server(into / "data", snapshot(tree.resolve(), into / "tree"))
    try:
        server.wait_healthy()
        time.sleep(SETTLE_S)
        urls = page_files(server.url)
        result = {"tree": str(tree), "files": len(urls), "rounds": []}
        for k in range(rounds):
            timed = [fetch(u) for u in urls]
            start = time.perf_counter()
            with ThreadPoolExecutor(6) as pool:
                list(pool.map(fetch, urls))
            parallel = time.perf_counter() - start
            seconds = [s for s, _ in timed]
            result["megabytes"] = round(sum(n for _, n in timed) / 1e6, 2)
            result["rounds"].append(
                {
                    "sequential_sum_s": round(sum(seconds), 4),
                    "median_ms": round(1000 * statistics.median(seconds), 2),
                    "max_ms": round(1000 * max(seconds), 2),
                    "six_at_a_time_s": round(parallel, 4),
                }
            )
            r = result["rounds"][-1]
            print(
                f"{tree}: round {k}: {len(urls)} files, {result['megabytes']} MB; one after "
                f"another {r['sequential_sum_s']:.3f} s (median {r['median_ms']:.1f} ms, "
                f"largest {r['max_ms']:.1f} ms); six at a time {r['six_at_a_time_s']:.3f} s",
                flush=True,
            )
        return result
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, action="append", help="default: this checkout")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = args.tree or [ROOT]
    if not all((t / "dashboard").is_dir() for t in trees):
        parser.error("each --tree must be a project tree (with a dashboard/ folder)")
    results = []
    for tree in trees:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(measure(tree, args.rounds, Path(tmp)))
    write_results(OUT_PATH, {"trees": results})


if __name__ == "__main__":
    main()

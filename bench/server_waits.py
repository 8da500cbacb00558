"""Where a live chart's answer waits inside the server: the route, or the event loop.

A chart's request for new points (``mtl/points``) is answered by the server's event loop,
which also carries every page's websocket; the pages' script runs are Python threads of
the same process. Timed from the browser, a slow answer cannot say which part was slow.
So bench_class.py serves a copy of the tree whose ``mtl_core/dashboard/serve.py`` has
this block appended (the copy only, never the product): the route is wrapped to record
when it began and ended, and the server's lifespan starts a task that sleeps 20 ms at a
time and records every wake-up that came more than 50 ms late, i.e. each stretch in which
the loop could not run (its thread busy elsewhere or waiting for Python's interpreter lock
or a core). Both go, as JSON lines, to the file named by ``MTL_BENCH_WAITS``.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from bench.results import p95

ENV = "MTL_BENCH_WAITS"
TICK_S = 0.02
LATE_S = 0.05

INSTRUMENT = """

# -- appended by bench/server_waits.py (a benchmark's copy, never the product) ---------
import asyncio as _asyncio
import json as _json
import time as _time

_WAITS = os.environ["MTL_BENCH_WAITS"]
_route, _lifespan = points, lifespan


def _write(row):
    with open(_WAITS, "a") as handle:
        handle.write(_json.dumps(row) + "\\n")


async def points(request):
    began = _time.time()
    response = await _route(request)
    _write(["route", request.query_params.get("run"), began, _time.time()])
    return response


async def _watch_loop():
    while True:
        began = _time.time()
        await _asyncio.sleep(TICK_S)
        late = _time.time() - began - TICK_S
        if late > LATE_S:
            _write(["blocked", began + TICK_S, late])


@contextlib.asynccontextmanager
async def lifespan(app):
    watcher = _asyncio.get_running_loop().create_task(_watch_loop())
    async with _lifespan(app) as state:
        yield state
    watcher.cancel()
""".replace("TICK_S", repr(TICK_S)).replace("LATE_S", repr(LATE_S))


def instrument(tree: Path) -> bool:
    """Append the block above to the copy's launcher module (``tree`` is a copy); False,
    and nothing changed, for a tree from before the launcher's points route."""
    serve = tree / "mtl_core" / "dashboard" / "serve.py"
    text = serve.read_text() if serve.exists() else ""
    if "async def points(" not in text or "async def lifespan(" not in text:
        return False
    serve.write_text(text + INSTRUMENT)
    return True


def read(path: Path) -> tuple[list[tuple[int, float, float]], list[tuple[float, float]]]:
    """The route's answers (run id, began, ended) and the loop's blocked stretches (from,
    seconds)."""
    routes, blocked = [], []
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row[0] == "route" and row[1] is not None and row[1].isdigit():
                routes.append((int(row[1]), row[2], row[3]))
            elif row[0] == "blocked":
                blocked.append((row[1], row[2]))
    return routes, blocked


def overlap(blocked: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of [start, end] in which the loop was blocked."""
    return sum(max(0.0, min(b + s, end) - max(b, start)) for b, s in blocked)


def summary(routes: list, blocked: list) -> dict:
    """The route's own answer times and the loop's blocked stretches over the whole run."""
    took = sorted(e - b for _, b, e in routes)
    return {
        "route_answers": len(took),
        "route_answer_median_s": round(statistics.median(took), 4) if took else None,
        "route_answer_p95_s": round(p95(took), 4) if took else None,
        "route_answer_max_s": round(took[-1], 4) if took else None,
        "loop_blocked_total_s": round(sum(s for _, s in blocked), 2),
        "loop_blocked_longest_s": round(max((s for _, s in blocked), default=0.0), 3),
        "loop_blocked_over_0_5_s": sum(s > 0.5 for _, s in blocked),
    }


def request_split(
    run_id: int, sent: float, answered: float, routes: list, blocked: list
) -> dict | None:
    """One chart request of ``run_id`` (browser clock = server clock: one machine): the
    time before the route began, how much of it the loop was blocked, and the route's own
    time. None if the server recorded no route call within the request."""
    mine = [(b, e) for r, b, e in routes if r == run_id and sent - 0.05 <= b <= answered]
    if not mine:
        return None
    began, ended = mine[0]
    return {
        "before_route": round(max(0.0, began - sent), 3),
        "loop_blocked_meanwhile": round(overlap(blocked, sent, began), 3),
        "route": round(ended - began, 3),
    }

"""Train one run in a fresh process and print its metric table as JSON.

Usage: python tests/helpers/train_rows.py CONFIG_JSON [STORE_PATH]

Prints ``{"status": …, "rows": [[epoch, task, split, metric, value], …]}`` with the
wall-time rows left out (they measure the machine, not the run). Floats survive JSON
exactly (``repr`` round-trips), so the tables can be compared bit for bit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mtl_core.config import from_json  # noqa: E402
from mtl_core.store.runs import RunStore  # noqa: E402
from mtl_core.training.trainer import train  # noqa: E402


def main() -> None:
    config = from_json(sys.argv[1])
    if len(sys.argv) > 2:
        with RunStore(sys.argv[2]) as store:
            result = train(config, store=store)
    else:
        result = train(config)
    rows = [list(row) for row in result.rows if row[3] != "wall_time"]
    print(json.dumps({"status": result.status, "run_id": result.run_id, "rows": rows}))


if __name__ == "__main__":
    main()

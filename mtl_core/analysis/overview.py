"""One row per stored run, for the CLI's ``list`` and the dashboard's history table."""

from __future__ import annotations

import pandas as pd


def short_config(config: dict) -> str:
    """E.g. ``mnist-5k/plain · digit +parity,magnitude · hard · 200 imgs``."""
    tasks = ",".join(config.get("tasks", []))
    if config.get("aux"):
        tasks += " +" + ",".join(config["aux"])
    return (
        f"{config.get('dataset')}/{config.get('variant')} · {tasks} · "
        f"{config.get('sharing')} · {config.get('train_size')} imgs"
    )


def runs_overview(runs: pd.DataFrame) -> pd.DataFrame:
    """From ``RunStore.runs()``: id, name, status, best val loss, test metric, time and
    config. The results come before the two wide columns: after them, a page's table
    showed them only to a reader who scrolled it sideways (lesson runs' names are long)."""
    rows = []
    for run in runs.itertuples():
        main = run.summary.get("main", {})
        first = next(iter(main.values()), None)
        rows.append(
            {
                "id": run.id,
                "name": run.name,
                "created": pd.Timestamp(run.created, unit="s").strftime("%Y-%m-%d %H:%M"),
                "config": short_config(run.config),
                "status": run.status,
                "best val loss": round(first["best_val_loss"], 4) if first else None,
                "test metric": round(first["test_metric"], 4) if first else None,
            }
        )
    columns = ["id", "name", "status", "best val loss", "test metric", "created", "config"]
    return pd.DataFrame(rows, columns=columns)

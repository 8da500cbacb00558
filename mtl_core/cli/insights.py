"""Command line: ``insights RUN``, ``affinity RUN`` and ``embed RUN``: the Insights view's
numbers, in text.

``insights`` prints what the dashboard's Insights view draws for a stored run: the
gradient-conflict sentences and cosines, the task weights, the trunk distance and the
cross-stitch mixing weights. ``affinity`` prints the run's inter-task affinity matrix
averaged over its epochs and TAG's choice of ``--groups`` networks
(``analysis/affinity_groups.py``). ``embed`` writes the 2-D map of the stored trunk features
(PCA, or t-SNE) with every task's labels, as CSV.
"""

from __future__ import annotations

import argparse

import pandas as pd

from mtl_core.analysis.affinity import affinity_sentences, mean_affinity
from mtl_core.analysis.affinity_groups import select_networks
from mtl_core.analysis.conflict_text import conflict_sentences, parse_pair
from mtl_core.analysis.projection import METHODS, project
from mtl_core.errors import ConfigError, StoreError
from mtl_core.paths import default_store_path
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import Status
from mtl_core.user_files import write_output


def _series(metrics: pd.DataFrame, task: str, metric: str) -> pd.Series:
    rows = metrics[
        (metrics["task"] == task) & (metrics["metric"] == metric) & (metrics["split"] == "train")
    ]
    return rows.set_index("epoch")["value"].sort_index()


def _wide(metrics: pd.DataFrame, task: str, last: int) -> pd.DataFrame:
    rows = metrics[(metrics["task"] == task) & (metrics["split"] == "train")]
    return rows.pivot_table(index="epoch", columns="metric", values="value").tail(last)


def cmd_insights(args: argparse.Namespace) -> int:
    with RunStore(args.store) as store:
        run = store.get_run(args.run)
        metrics = store.metrics(args.run)
    config = run["config"]
    tasks = list(config.get("tasks", [])) + list(config.get("aux", []))
    print(
        f"run {run['id']} ({run['name']}): {run['status']}; sharing {config.get('sharing')}, "
        f"weighting {config.get('weighting')}, aggregator {config.get('aggregator', 'none')}"
    )
    conflict = metrics[metrics["task"] == "_conflict"]
    print("\ngradient conflict on the shared trunk:")
    if conflict.empty:
        print("  not measured: conflict is measured on a shared trunk (hard sharing, 2+ tasks)")
    else:
        wide = conflict.pivot_table(index="epoch", columns="metric", values="value")
        cosines = {parse_pair(m): wide[m].tolist() for m in wide.columns}
        for line in conflict_sentences(cosines, wide.index.tolist()):
            print(f"  {line}")
        wide.columns = [" ~ ".join(parse_pair(m)) for m in wide.columns]
        print(wide.tail(args.last).round(3).to_string())
    weights = pd.DataFrame({t: _series(metrics, t, "weight") for t in tasks})
    print("\ntask weights:")
    print(weights.tail(args.last).round(4).to_string())
    distance = _series(metrics, "_model", "trunk_distance")
    if len(distance):
        print("\ntrunk distance:")
        print(distance.tail(args.last).round(4).to_string())
    stitch = _wide(metrics, "_stitch", args.last)
    if len(stitch.columns):
        print("\ncross-stitch mixing weights (alpha:unit:to:from):")
        print(stitch.round(3).T.to_string())
    return 0


def cmd_affinity(args: argparse.Namespace) -> int:
    with RunStore(args.store) as store:
        run = store.get_run(args.run)
        metrics = store.metrics(args.run)
    config = run["config"]
    mains, aux = list(config.get("tasks", [])), list(config.get("aux", []))
    tasks = mains + aux
    matrix = mean_affinity(metrics, tasks)
    if matrix.empty:
        every = config.get("affinity_every", 10)
        why = (
            "it was turned off (--no-affinity)"
            if every == 0
            else "it is measured on a shared trunk: hard sharing with two or more tasks"
        )
        raise StoreError(f"run {args.run} recorded no inter-task affinity: {why}")
    epochs = int(metrics[metrics.task == "_affinity"].epoch.nunique())
    print(
        f"run {run['id']} ({run['name']}): inter-task affinity Z(source → target), mean of "
        f"{epochs} epoch(s), measured every {config.get('affinity_every', 10)} steps; "
        "rows: whose step, columns: whose loss; > 0 means the step lowers that loss"
    )
    shown = matrix.rename(index=lambda t: f"{t} (aux)" if t in aux else t)
    print(shown.to_string(float_format=lambda v: f"{v:+.4f}"))
    print()
    for line in affinity_sentences(matrix, mains):
        print(f"  {line}")
    selection = select_networks(matrix.to_dict(orient="index"), tasks, mains, args.groups)
    count = len(selection.networks)
    note = f" (at most one per main task: {count})" if count < args.groups else ""
    print(
        f"\nTAG network selection, {args.groups} network(s){note}; total score "
        f"{selection.total:+.4f}:"
    )
    table = pd.DataFrame(
        [
            {
                "network": i,
                "tasks": ", ".join(net.tasks),
                "serves": ", ".join(net.serves),
                "score": " ".join(f"{t}={v:+.4f}" for t, v in net.serves.items()),
            }
            for i, net in enumerate(selection.networks, start=1)
        ]
    )
    print(table.to_string(index=False))
    print("\ngroups:")
    for net in selection.networks:
        print("  " + " + ".join(net.tasks))
    if args.train:
        return _train_grouping(args, run, selection)
    return 0


def _train_grouping(args: argparse.Namespace, run: dict, selection) -> int:
    """``--train``: the grouping against all-in-one and single-task, over seeds."""
    from mtl_core.config import from_dict
    from mtl_core.studies.grouping import ALL_IN_ONE, GROUPED, SINGLE, train_grouping

    config = from_dict(run["config"])
    study = train_grouping(
        config,
        selection,
        args.seeds,
        vary_data=not args.fixed_data,
        workers=args.workers,
        store_path=args.store or str(default_store_path()),
        name=f"grouping of run {run['id']}",
    )
    print("\ntest metric at the best validation epoch, mean over the seeds each column names:")
    print(study.table().round(4).to_string())
    for task in config.tasks:
        for other in (ALL_IN_ONE, SINGLE):
            diff = study.difference(task, GROUPED, other)
            if diff is not None:
                print(
                    f"  {task}: grouped − {other} = {diff.mean:+.4f} "
                    f"(95% CI {diff.low:+.4f} to {diff.high:+.4f}, {diff.n} paired seeds)"
                )
    if study.reused:
        print(f"reused {len(study.reused)} completed identical run(s) from the store")
    failed = [r for r in study.results if r.status != Status.COMPLETED]
    for r in failed:
        print(f"run {r.run_id} {r.status}: {r.message}")
    return 1 if failed else 0


def cmd_embed(args: argparse.Namespace) -> int:
    if args.method not in METHODS:
        raise ConfigError("method", f"use pca or tsne, got {args.method!r}")
    with RunStore(args.store) as store:
        run = store.get_run(args.run)
        names = store.array_names(args.run)
        trunks = [n.split("/")[2] for n in names if n.startswith(f"features/{args.epoch}/")]
        if not trunks:
            raise StoreError(
                f"run {args.run} has no stored features (runs store them when "
                "they finish; runs from before this version have none)"
            )
        trunk = args.trunk or trunks[0]
        if trunk not in trunks:
            raise ConfigError("trunk", f"run {args.run} has trunks {', '.join(trunks)}")
        features, meta = store.get_array(args.run, f"features/{args.epoch}/{trunk}")
        tasks = list(run["config"].get("tasks", [])) + list(run["config"].get("aux", []))
        labels = {
            t: store.get_array(args.run, f"labels/{t}") for t in tasks if f"labels/{t}" in names
        }
    coords = project(features, args.method, seed=0)
    frame = pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1]})
    for task, (values, info) in labels.items():
        flat = values.reshape(len(values), -1)
        classes = info.get("classes") or []
        if classes:
            frame[task] = [classes[int(v)] for v in flat[:, 0]]
        else:
            for i in range(flat.shape[1]):
                frame[task if flat.shape[1] == 1 else f"{task}_{i}"] = flat[:, i]
    out = args.out or f"run{run['id']}_{args.method}.csv"  # a str: keeps a trailing "/"
    write_output(out, frame.to_csv(index=False), "out")
    print(
        f"wrote {out}: {len(frame)} validation images, trunk {trunk!r}, "
        f"epoch {meta.get('epoch')} ({args.epoch}), {args.method}"
    )
    return 0


def add_insight_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "insights",
        help="a run's gradient conflict, task weights, trunk distance and cross-stitch weights",
    )
    p.add_argument("run", type=int)
    p.add_argument("--last", type=int, default=5, help="how many epochs to print")
    p.add_argument("--store")
    p.set_defaults(func=cmd_insights)
    p = sub.add_parser(
        "affinity",
        help="a run's inter-task affinity (TAG) and the networks it suggests training",
    )
    p.add_argument("run", type=int)
    p.add_argument(
        "--groups",
        type=int,
        default=2,
        metavar="N",
        help="how many networks to choose (default 2; at most one per main task is used)",
    )
    p.add_argument(
        "--train",
        action="store_true",
        help="train the suggested grouping as separate hard-sharing networks and compare "
        "it, over seeds, with all-in-one and single-task",
    )
    p.add_argument("--seeds", type=int, default=3, help="seeds per arm with --train (default 3)")
    p.add_argument("--workers", type=int, default=2, help="parallel runs with --train")
    p.add_argument(
        "--fixed-data",
        action="store_true",
        help="with --train, keep data_seed fixed (by default each seed draws other images)",
    )
    p.add_argument("--store")
    p.set_defaults(func=cmd_affinity)
    p = sub.add_parser("embed", help="2-D map (PCA or t-SNE) of a run's trunk features, as CSV")
    p.add_argument("run", type=int)
    p.add_argument("--method", default="pca", help="pca (default) or tsne")
    p.add_argument("--epoch", choices=["best", "latest"], default="best")
    p.add_argument("--trunk", help="which trunk (default: the shared one, or the first)")
    p.add_argument("--out", help="CSV file (default run<ID>_<method>.csv)")
    p.add_argument("--store")
    p.set_defaults(func=cmd_embed)

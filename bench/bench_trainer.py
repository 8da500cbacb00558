"""Benchmark: the project's trainer against a minimal hand-written PyTorch loop.

Both train the same hard-sharing MLP (Flatten, 784-256, ReLU, 256-256, ReLU, one linear
head for `digit` and one for `parity`) on the same 3,000 mnist-5k training images, with
batch 128, Adam lr 1e-3, 20 epochs, and evaluate loss and accuracy of both tasks on the
training and validation images before training and after every epoch, and measure the
gradient conflict as the trainer does (the cosine of the two tasks' gradients on the
shared trunk, on the first 256 training images in eval mode). The trainer also writes
every epoch to a real SQLite run store and calls a callback, as the CLI does.

The dataset is loaded once, before any timing. After one untimed warm-up of each, the
two are timed in turn (trainer, loop, trainer, loop, ...). Target: trainer / loop <= 1.10.

    .venv/bin/python bench/bench_trainer.py [--reps 5] [--threads 2] [--check]
"""

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing mtl_core

from bench.results import write_results  # noqa: E402
from mtl_core.config import RunConfig  # noqa: E402
from mtl_core.data.splits import load_bundle  # noqa: E402
from mtl_core.store.runs import RunStore  # noqa: E402
from mtl_core.training.conflict import PROBE_SIZE  # noqa: E402
from mtl_core.training.trainer import train  # noqa: E402

# -----------------------------------------------------------------------------
# the workload, shared by both contestants

DATASET = "mnist-5k"
TRAIN_SIZE = 3000  # the whole training split of mnist-5k, labelled for both tasks
BATCH_SIZE = 128
EPOCHS = 20
WIDTH = 256
DEPTH = 2
LR = 1e-3
SEED = 0
TARGET_RATIO = 1.10
OUT_PATH = ROOT / "bench" / "out" / "bench_trainer.json"


def trainer_config(threads: int) -> RunConfig:
    return RunConfig(
        dataset=DATASET,
        train_size=TRAIN_SIZE,
        tasks=("digit",),
        aux=("parity",),
        sharing="hard",
        backbone="mlp",
        width=WIDTH,
        depth=DEPTH,
        optimizer="adam",
        lr=LR,
        batch_size=BATCH_SIZE,
        epochs=EPOCHS,
        seed=SEED,
        threads=threads,
        affinity_every=0,  # the hand-written loop compared against measures no affinity
    )


# -----------------------------------------------------------------------------
# contestant 1: the project's trainer, with a real run store and a callback


def run_trainer(store: RunStore, threads: int) -> dict:
    epochs_seen = []
    result = train(
        trainer_config(threads), store=store, callback=lambda e: epochs_seen.append(e.epoch)
    )
    assert result.status == "completed", (result.status, result.message)
    assert epochs_seen == list(range(EPOCHS + 1)), epochs_seen
    return {
        "val_accuracy_digit": result.value(EPOCHS, "digit", "val", "accuracy"),
        "val_accuracy_parity": result.value(EPOCHS, "parity", "val", "accuracy"),
    }


# -----------------------------------------------------------------------------
# contestant 2: a minimal hand-written loop over tensors preloaded in memory


def loop_data(bundle) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Inputs, digit targets and parity targets of the training pool and validation set."""
    out = {}
    for name, split, n in (("train", bundle.train, TRAIN_SIZE), ("val", bundle.val, None)):
        x, y = split.images[:n], split.labels[:n]
        out[name] = (x, y, y % 2)
    return out


@torch.inference_mode()
def evaluate(trunk: nn.Module, heads: nn.ModuleList, data: dict) -> list[float]:
    """Loss and accuracy of both tasks on train and val; one .tolist() for all of them."""
    trunk.eval()
    heads.eval()
    stats = []
    for split in ("train", "val"):
        x, *targets = data[split]
        feats = trunk(x)
        for head, y in zip(heads, targets, strict=True):
            out = head(feats)
            stats += [F.cross_entropy(out, y), (out.argmax(1) == y).float().mean()]
    return torch.stack(stats).tolist()


def conflict(trunk: nn.Module, heads: nn.ModuleList, data: dict) -> float:
    """Cosine of the two tasks' gradients on the trunk, on the first training images."""
    trunk.eval()
    heads.eval()
    x, *targets = data["train"]
    feats = trunk(x[:PROBE_SIZE])
    params = list(trunk.parameters())
    grads = []
    for head, y in zip(heads, targets, strict=True):
        loss = F.cross_entropy(head(feats), y[:PROBE_SIZE])
        parts = torch.autograd.grad(loss, params, retain_graph=True)
        grads.append(torch.cat([g.reshape(-1) for g in parts]))
    return float(F.cosine_similarity(grads[0], grads[1], dim=0))


def run_loop(data: dict, threads: int) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    trunk = nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, WIDTH),
        nn.ReLU(),
        nn.Linear(WIDTH, WIDTH),
        nn.ReLU(),
    )
    heads = nn.ModuleList([nn.Linear(WIDTH, 10), nn.Linear(WIDTH, 2)])
    head_digit, head_parity = heads
    optimizer = torch.optim.Adam([*trunk.parameters(), *heads.parameters()], lr=LR)
    x, y_digit, y_parity = data["train"]
    gen = torch.Generator().manual_seed(SEED)

    history = [evaluate(trunk, heads, data) + [conflict(trunk, heads, data)]]  # epoch 0
    for _ in range(EPOCHS):
        trunk.train()
        heads.train()
        for idx in torch.randperm(len(x), generator=gen).split(BATCH_SIZE):
            feats = trunk(x[idx])  # one shared batch for both tasks: their pools are equal
            loss = F.cross_entropy(head_digit(feats), y_digit[idx]) + F.cross_entropy(
                head_parity(feats), y_parity[idx]
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        history.append(evaluate(trunk, heads, data) + [conflict(trunk, heads, data)])
    # history rows: [train digit loss, acc, train parity loss, acc, val digit loss, acc, ...]
    return {"val_accuracy_digit": history[-1][5], "val_accuracy_parity": history[-1][7]}


# -----------------------------------------------------------------------------
# the benchmark


def timed(fn, *args) -> tuple[float, dict]:
    tic = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - tic, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args()
    if args.reps < 1 or args.threads < 1:
        parser.error("--reps and --threads must be at least 1")
    torch.set_num_threads(args.threads)

    bundle = load_bundle(DATASET)  # once, untimed; the trainer reuses this process cache
    data = loop_data(bundle)
    samples = TRAIN_SIZE * EPOCHS  # training samples per run (evaluation not counted)

    times = {"trainer": [], "loop": []}
    with tempfile.TemporaryDirectory() as tmp, RunStore(Path(tmp) / "runs.sqlite") as store:
        contestants = {"trainer": (run_trainer, store), "loop": (run_loop, data)}
        for name, (fn, arg) in contestants.items():  # warm-up, untimed
            seconds, acc = timed(fn, arg, args.threads)
            print(
                f"warm-up {name:7s} {seconds:.3f} s: final val accuracy"
                f" digit {acc['val_accuracy_digit']:.3f}, parity {acc['val_accuracy_parity']:.3f}"
            )
        for rep in range(args.reps):
            for name, (fn, arg) in contestants.items():
                seconds, _ = timed(fn, arg, args.threads)
                times[name].append(seconds)
            print(
                f"rep {rep + 1}/{args.reps}: trainer {times['trainer'][-1]:.3f} s, "
                f"loop {times['loop'][-1]:.3f} s"
            )

    median = {name: statistics.median(t) for name, t in times.items()}
    ratio = median["trainer"] / median["loop"]
    passed = ratio <= TARGET_RATIO
    # secondary views, robust to a busy machine: each rep's own ratio, and the fastest runs
    paired = statistics.median(a / b for a, b in zip(times["trainer"], times["loop"], strict=True))
    best = min(times["trainer"]) / min(times["loop"])
    spread = max(max(t) / min(t) for t in times.values())
    print(
        f"\nthreads {torch.get_num_threads()}, {args.reps} reps, {samples} training samples per run"
    )
    for name in times:
        all_times = " ".join(f"{t:.3f}" for t in times[name])
        print(
            f"{name:7s}: median {median[name]:.3f} s  ({samples / median[name]:,.0f} samples/s)"
            f"  all: {all_times}"
        )
    print(f"(median of per-rep ratios {paired:.3f}, ratio of fastest runs {best:.3f})")
    if spread > 1.25:
        print(f"warning: times of one contestant vary up to {spread:.2f}x; is the machine busy?")
    print(
        f"ratio trainer/loop: {ratio:.3f}  (target <= {TARGET_RATIO:.2f})  "
        f"{'PASS' if passed else 'FAIL'}"
    )

    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "workload": {
            "dataset": DATASET,
            "train_size": TRAIN_SIZE,
            "tasks": ["digit", "parity"],
            "batch_size": BATCH_SIZE,
            "epochs": EPOCHS,
            "width": WIDTH,
            "depth": DEPTH,
            "lr": LR,
        },
        "threads": torch.get_num_threads(),
        "reps": args.reps,
        "samples_per_run": samples,
        "times_s": times,
        "median_s": median,
        "samples_per_s": {name: samples / m for name, m in median.items()},
        "ratio": ratio,
        "ratio_paired_median": paired,
        "ratio_fastest": best,
        "max_spread": spread,  # slowest / fastest run of one contestant; > 1.25: machine busy
        "target_ratio": TARGET_RATIO,
        "passed": passed,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    write_results(OUT_PATH, report)
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The training parts of an exported script: the loss weighting, measuring, the batch
order and the loop.

Code as text (``export.py`` joins the parts a run needs). ``WEIGHTINGS`` repeat
``methods/weightings/`` (one class per method, under one name: ``Weighting``),
``MEASURE`` repeats ``training/problem.py``'s ``evaluate``, ``SAMPLING`` repeats
``data/batching.py``, and ``MAIN`` repeats ``training/loop.py`` (the steps of an epoch,
epoch 0 before any update, early stopping, the test set at each main task's best epoch).
"""

_EPOCH_MEAN = '''

class EpochMean:
    """The mean of per-step weights over the epoch so far: the weights an epoch reports."""

    def __init__(self):
        self.sum, self.steps, self.last = None, 0, None

    def add(self, weights):
        self.sum = weights.clone() if self.sum is None else self.sum + weights
        self.steps += 1

    def value(self):
        if not self.steps:  # no step yet this epoch: the last epoch's mean, or equal
            return self.last or dict.fromkeys(ALL_TASKS, 1.0)
        return {t: float(w) / self.steps for t, w in zip(ALL_TASKS, self.sum, strict=True)}

    def restart(self):
        self.last = self.value()
        self.sum, self.steps = None, 0
'''

_WEIGHTED_SUM = '''

# -- the loss weighting: how the task losses become one objective ---------------------------


class Weighting:
    """{doc}"""

    def combine(self, losses):
        objective = None
        for n, loss in losses.items():
            term = loss if LOSS_WEIGHTS[n] == 1.0 else LOSS_WEIGHTS[n] * loss
            objective = term if objective is None else objective + term
        return objective

    def current(self):
        return dict(LOSS_WEIGHTS)

    def epoch_end(self, batch_losses):
        pass

    def parameters(self):
        return []
'''

WEIGHTINGS = {
    "fixed": _WEIGHTED_SUM.format(
        doc="fixed: Σ_t w_t L_t, w = 1 for main tasks, the auxiliary weight for the others."
    ),
    "equal": _WEIGHTED_SUM.format(doc="equal: Σ_t L_t, every task weighs 1."),
    "dwa": '''

# -- the loss weighting: how the task losses become one objective ---------------------------


class Weighting:
    """Dynamic Weight Average (Liu, Johns & Davison 2019): w_k = K softmax(r / T)_k with
    r_k = L_k(t−1) / L_k(t−2), the ratio of task k's mean training loss over the last two
    epochs; the first two epochs use w = 1."""

    def __init__(self):
        self.history = []
        self.weights = dict.fromkeys(ALL_TASKS, 1.0)

    def combine(self, losses):
        objective = None
        for n, loss in losses.items():
            term = loss if self.weights[n] == 1.0 else self.weights[n] * loss
            objective = term if objective is None else objective + term
        return objective

    def current(self):
        return dict(self.weights)

    def epoch_end(self, batch_losses):
        self.history.append({t: float(batch_losses[t]) for t in ALL_TASKS})
        if len(self.history) < 2:
            return
        before, last = self.history[-2], self.history[-1]
        ratios = [last[t] / before[t] if before[t] > 0 else 1.0 for t in ALL_TASKS]
        scaled = [r / DWA_TEMPERATURE for r in ratios]
        top = max(scaled)
        exps = [math.exp(s - top) for s in scaled]  # shifted: same softmax, no overflow
        total = sum(exps)
        self.weights = {t: len(ALL_TASKS) * e / total for t, e in zip(ALL_TASKS, exps, strict=True)}

    def parameters(self):
        return []
''',
    "uncertainty": '''

# -- the loss weighting: how the task losses become one objective ---------------------------


class Weighting:
    """Uncertainty weighting (Kendall, Gal & Cipolla 2018): Σ_t ½ exp(−s_t) L_t + ½ s_t
    with a learned s_t = log σ_t², clamped to [−4, 6]."""

    def __init__(self):
        self.log_var = nn.Parameter(torch.zeros(len(ALL_TASKS)))

    def clamped(self):
        return self.log_var.clamp(-4.0, 6.0)

    def combine(self, losses):
        s = self.clamped()
        index = {t: i for i, t in enumerate(ALL_TASKS)}
        return sum(
            0.5 * torch.exp(-s[index[t]]) * loss + 0.5 * s[index[t]] for t, loss in losses.items()
        )

    @torch.no_grad()
    def current(self):
        weights = 0.5 * torch.exp(-self.clamped())
        return {t: float(w) for t, w in zip(ALL_TASKS, weights, strict=True)}

    def epoch_end(self, batch_losses):
        pass

    def parameters(self):
        return [self.log_var]
''',
    "rlw": _EPOCH_MEAN
    + '''

# -- the loss weighting: how the task losses become one objective ---------------------------


class Weighting:
    """Random loss weighting (Lin et al. 2022): each step minimises Σ_t λ_t L_t with
    λ = softmax(z), z ~ N(0, I) drawn from the stream (SEED, "rlw")."""

    def __init__(self):
        self.generator = torch_generator(SEED, "rlw")
        self.mean = EpochMean()

    def combine(self, losses):
        weights = torch.softmax(torch.randn(len(ALL_TASKS), generator=self.generator), 0)
        self.mean.add(weights)
        index = {t: i for i, t in enumerate(ALL_TASKS)}
        return sum(weights[index[t]] * loss for t, loss in losses.items())

    def current(self):
        return self.mean.value()

    def epoch_end(self, batch_losses):
        self.mean.restart()

    def parameters(self):
        return []
''',
    "si": _EPOCH_MEAN
    + '''

# -- the loss weighting: how the task losses become one objective ---------------------------


class Weighting:
    """Scale-invariant weighting (Navon et al. 2022): minimise Σ_t log L_t, each loss
    clamped at 1e-8; the weights shown are the epoch's mean of 1 / L_t."""

    def __init__(self):
        self.mean = EpochMean()

    def combine(self, losses):
        clamped = {t: loss.clamp(min=1e-8) for t, loss in losses.items()}
        self.mean.add(torch.stack([1.0 / clamped[t].detach() for t in ALL_TASKS]))
        return sum(torch.log(loss) for loss in clamped.values())

    def current(self):
        return self.mean.value()

    def epoch_end(self, batch_losses):
        self.mean.restart()

    def parameters(self):
        return []
''',
}

MEASURE = '''
# -- measuring: mean loss and metric per task -----------------------------------------------


def task_loss(task, output, target):
    """Cross-entropy for a classification task, mean squared error for a regression one."""
    if METRIC[task] == "accuracy":
        return F.cross_entropy(output, target)
    return F.mse_loss(output, target)


def loss_and_metric_sums(task, output, target):
    """Sums over the batch, so that measuring in chunks averages exactly: the loss, and the
    accuracy or the mean absolute error (times METRIC_SCALE)."""
    if METRIC[task] == "accuracy":
        loss = F.cross_entropy(output, target, reduction="sum")
        return loss, (output.argmax(1) == target).sum().to(loss.dtype)
    per_sample = F.mse_loss(output, target, reduction="none").mean(1)
    mae = (output - target).abs().mean(1) * METRIC_SCALE[task]
    return per_sample.sum(), mae.sum()


@torch.inference_mode()
def evaluate(model, inputs, targets, split, only=None):
    """Mean loss and metric per task on a split; on train, over the task's own pool."""
    model.eval()
    rows = []
    for (trunk_key, masked), names in GROUPS.items():
        names = [n for n in names if only is None or n in only]
        if not names:
            continue
        x = inputs[(split, masked)]
        size = max(POOL[n] for n in names) if split == "train" else len(x)
        sums = {n: [torch.zeros(()), torch.zeros(())] for n in names}
        for start in range(0, size, EVAL_CHUNK):
            chunk = x[start : min(size, start + EVAL_CHUNK)]
            feats = model.features(chunk, trunk_key)
            for n in names:
                stop = min(len(chunk), len(targets[split][n]) - start)
                if stop <= 0:
                    continue
                out = model.head(n, feats)[:stop]
                target = targets[split][n][start : start + stop]
                loss, metric = loss_and_metric_sums(n, out, target)
                sums[n][0] += loss
                sums[n][1] += metric
        for n in names:
            count = len(targets[split][n])
            rows.append((n, split, "loss", float(sums[n][0]) / count))
            rows.append((n, split, METRIC[n], float(sums[n][1]) / count))
    return rows

'''

SAMPLING = '''
# -- sampling: each label pool has its own endless, seeded batch order ----------------------


class BatchStream:
    """Indices into range(n), reshuffled after each full pass, from the stream (SEED, n)."""

    def __init__(self, n):
        self.n = n
        self.generator = torch_generator(SEED, "batches", n)
        self.perm = torch.empty(0, dtype=torch.long)
        self.pos = 0

    def take(self, size):
        parts = []
        while size > 0:
            if self.pos >= len(self.perm):
                self.perm = torch.randperm(self.n, generator=self.generator)
                self.pos = 0
            chunk = self.perm[self.pos : self.pos + size]
            self.pos += len(chunk)
            size -= len(chunk)
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else torch.cat(parts)


def step_sizes(pool, batch_size):
    """Sub-batch sizes of one epoch over the main pool: full batches and a last, smaller one."""
    steps = math.ceil(pool / batch_size)
    return [batch_size] * (steps - 1) + [pool - batch_size * (steps - 1)]


def best_epoch(values):
    """Index of the lowest value (the first one on ties)."""
    return min((v, i) for i, v in enumerate(values))[1]

'''

MAIN = """
# -- training -------------------------------------------------------------------------------


def main():
    torch.set_num_threads(THREADS)
    inputs, targets = prepare_data()
    model = MultiTaskNet(tuple(inputs[("train", False)].shape[-2:]))
    weighting = Weighting()
    groups = [{"params": list(model.parameters()), "weight_decay": WEIGHT_DECAY}]
    if weighting.parameters():  # learned task weights train without weight decay
        groups.append({"params": weighting.parameters(), "weight_decay": 0.0})
    if OPTIMIZER == "adam":
        optimizer = torch.optim.Adam(groups, lr=LR)
    else:
        optimizer = torch.optim.SGD(groups, lr=LR, momentum=MOMENTUM)
    sizes = step_sizes(max(POOL[t] for t in TASKS), BATCH_SIZE)
    streams = {n: BatchStream(n) for n in set(POOL.values())}
    train_groups = {}  # tasks with the same pool on the same trunk share one forward pass
    for (trunk_key, masked), names in GROUPS.items():
        for n in names:
            train_groups.setdefault((POOL[n], masked, trunk_key), []).append(n)

    rows, criterion, steps, samples = [], [], 0, 0
    val_losses = {t: [] for t in TASKS}
    best = {}  # main task -> (its best validation epoch, the weights then)

    def measure(epoch, objective, batch_losses):
        epoch_rows = evaluate(model, inputs, targets, "train")
        epoch_rows += evaluate(model, inputs, targets, "val")
        epoch_rows += [(n, "train", "weight", w) for n, w in weighting.current().items()]
        if objective is not None:
            epoch_rows.append(("_total", "train", "objective", objective))
            epoch_rows += [(n, "train", "batch_loss", v) for n, v in batch_losses.items()]
        epoch_rows += [("_run", "train", "steps", steps), ("_run", "train", "samples", samples)]
        return epoch_rows

    def commit(epoch, epoch_rows):
        rows.extend((epoch, *row) for row in epoch_rows)
        val = {t: v for t, s, m, v in epoch_rows if s == "val" and m == "loss"}
        for t in TASKS:
            val_losses[t].append(val[t])
            if t not in best or val[t] < val_losses[t][best[t][0]]:
                best[t] = (epoch, copy.deepcopy(model.state_dict()))
        criterion.append(sum(val[t] for t in TASKS))

    commit(0, measure(0, None, None))  # epoch 0: before any update
    for epoch in range(1, EPOCHS + 1):
        model.train()
        running = {n: torch.zeros(()) for n in ALL_TASKS}
        objective_sum = torch.zeros(())
        for size in sizes:
            index = {n: stream.take(size) for n, stream in streams.items()}
            losses = {}
            for (pool, masked, trunk_key), names in train_groups.items():
                idx = index[pool]
                feats = model.features(inputs[("train", masked)][idx], trunk_key)
                for n in names:
                    losses[n] = task_loss(n, model.head(n, feats), targets["train"][n][idx])
            objective = weighting.combine(losses){penalty}
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            for n, loss in losses.items():
                running[n] += loss.detach()
            objective_sum += objective.detach()
            steps += 1
            samples += size
        objective = float(objective_sum / len(sizes))
        batch_losses = {n: float(v) / len(sizes) for n, v in running.items()}
        epoch_rows = measure(epoch, objective, batch_losses)
        if not (math.isfinite(objective) and all(math.isfinite(v) for *_, v in epoch_rows)):
            print(f"the loss became non-finite in epoch {epoch}; curves stop at epoch {epoch - 1}")
            break
        commit(epoch, epoch_rows)
        weighting.epoch_end(batch_losses)  # after the rows: they show the weights trained with
        print(f"epoch {epoch}/{EPOCHS}: objective {objective:.4f}")
        if EARLY_STOP and epoch - best_epoch(criterion) >= EARLY_STOP:
            print(f"stopped early at epoch {epoch}")
            break

    for t in TASKS:  # the test set, once per main task, at its best validation epoch
        epoch, state = best[t]
        model.load_state_dict(state)
        rows.extend((epoch, *row) for row in evaluate(model, inputs, targets, "test", only=[t]))

    out = Path("curves.csv")  # in the current folder
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\\n")
        writer.writerow(["run_id", "run_name", "epoch", "task", "split", "metric", "value"])
        for epoch, task, split, metric, value in sorted(rows, key=lambda r: r[:4]):
            writer.writerow([RUN_ID, RUN_NAME, epoch, task, split, metric, repr(float(value))])
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
"""

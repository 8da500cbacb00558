"""The model parts of an exported script: seeded dropout and init, a trunk per backbone,
the multi-task network, and the soft-sharing penalties.

Code as text (``export.py`` joins the parts a run needs). ``LAYERS`` and ``TRUNKS`` repeat
``models/trunks.py`` (each weight and dropout mask from its own named stream), ``NET``
repeats ``build_model`` (hard sharing of the first K layers included), ``PENALTIES``
repeats ``models/sharing.py``.
"""

LAYERS = '''
# -- the model: trunk(s) and one linear head per task ---------------------------------------


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from the trunk's own stream."""

    def __init__(self, p, generator):
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.empty(x.shape).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep / (1 - self.p)


def init_uniform(module, generator):
    """U(±1/√fan_in) for every weight and bias, layer by layer, from one stream."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            bound = 1 / math.sqrt(layer.weight[0].numel())
            with torch.no_grad():
                for param in (layer.weight, layer.bias):
                    param.copy_(torch.rand(param.shape, generator=generator) * 2 * bound - bound)
    return module
'''

MAX_PIECES = '''

class MaxPieces(nn.Module):
    """Maxout: unit i is the max of its PIECES linear pieces (columns i·P … i·P + P − 1)."""

    def forward(self, x):
        return x.unflatten(-1, (-1, PIECES)).amax(-1)
'''

_DENSE = """    for _ in range(DEPTH):
        layers += {block}
        size = WIDTH
    return init_uniform(nn.Sequential(*layers), torch_generator(SEED, "trunk", key))
"""

_RELU_BLOCK = "[nn.Linear(size, WIDTH), nn.ReLU(), SeededDropout(DROPOUT, dropout_stream)]"
_MAXOUT_BLOCK = """[
            nn.Linear(size, WIDTH * PIECES),
            MaxPieces(),
            SeededDropout(DROPOUT, dropout_stream),
        ]"""

TRUNKS = {
    "mlp": '''

def make_trunk(key, image_shape):
    """Flatten, then DEPTH blocks of Linear, ReLU and dropout."""
    dropout_stream = torch_generator(SEED, "dropout", key)
    layers = [nn.Flatten()]
    size = image_shape[0] * image_shape[1]
'''
    + _DENSE.format(block=_RELU_BLOCK),
    "cnn": '''

def make_trunk(key, image_shape):
    """LeNet-style: two padded convolution blocks, then DEPTH blocks of Linear, ReLU and
    dropout."""
    dropout_stream = torch_generator(SEED, "dropout", key)
    layers = [
        nn.Conv2d(1, 10, 5, padding=2),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(10, 20, 5, padding=2),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Flatten(),
    ]
    size = 20 * (image_shape[0] // 4) * (image_shape[1] // 4)
'''
    + _DENSE.format(block=_RELU_BLOCK),
    "maxout": '''

def make_trunk(key, image_shape):
    """Flatten, then DEPTH blocks of Linear (WIDTH × PIECES pieces), MaxPieces and dropout."""
    dropout_stream = torch_generator(SEED, "dropout", key)
    layers = [nn.Flatten()]
    size = image_shape[0] * image_shape[1]
'''
    + _DENSE.format(block=_MAXOUT_BLOCK),
}

NET = '''

WEIGHT_LAYERS = (nn.Linear, nn.Conv2d)  # a trunk's layer starts at each of these


class MultiTaskNet(nn.Module):
    """Trunks by key ("shared", or one per task), per-task branches when hard sharing
    stops after SHARED_LAYERS layers, and one linear head per task."""

    def __init__(self, image_shape):
        super().__init__()
        trunks = {key: make_trunk(key, image_shape) for key in dict.fromkeys(TRUNK_OF.values())}
        self.trunks = nn.ModuleDict(trunks)
        heads = {}
        for task in ALL_TASKS:
            head = nn.Linear(WIDTH, HEAD_SIZE[task])
            heads[task] = init_uniform(head, torch_generator(SEED, "head", task))
        self.heads = nn.ModuleDict(heads)
        self.branches = None
        if SHARING == "hard" and 0 <= SHARED_LAYERS < TRUNK_LAYERS:
            # The first SHARED_LAYERS layers are shared; task t's branch is the rest of the
            # trunk t would have on its own (its weights from t's streams).
            starts = [i for i, m in enumerate(trunks["shared"]) if isinstance(m, WEIGHT_LAYERS)]
            cut = 0 if SHARED_LAYERS == 0 else starts[SHARED_LAYERS]
            self.trunks["shared"] = nn.Sequential(*list(trunks["shared"])[:cut])
            branches = {}
            for task in ALL_TASKS:
                branches[task] = nn.Sequential(*list(make_trunk(task, image_shape))[cut:])
            self.branches = nn.ModuleDict(branches)

    def features(self, x, trunk_key):
        return self.trunks[trunk_key](x)

    def head(self, task, feats):
        if self.branches is not None:
            feats = self.branches[task](feats)
        return self.heads[task](feats)
'''

_STACKED = '''

def stacked_trunk_weights(model):
    """For each trunk parameter, a (tasks, weights) matrix of its copies in the task trunks."""
    per_trunk = [list(trunk.parameters()) for trunk in model.trunks.values()]
    return [torch.stack([p.reshape(-1) for p in group]) for group in zip(*per_trunk, strict=True)]
'''

PENALTIES = {
    "l2": _STACKED
    + '''

def penalty(model):
    """l2 (Duong et al. 2015): Σ over task pairs of ‖w_i − w_j‖², divided by the number of
    weights in one trunk."""
    mats = stacked_trunk_weights(model)
    n_weights = sum(m.shape[1] for m in mats)
    total = mats[0].new_zeros(())
    for m in mats:
        for i in range(m.shape[0]):
            for j in range(i + 1, m.shape[0]):
                total = total + (m[i] - m[j]).pow(2).sum()
    return total / n_weights
''',
    "trace": _STACKED
    + '''

def penalty(model):
    """trace (after Yang & Hospedales 2017): Σ over layers of the nuclear norm of the
    layer's matrix of task weights, divided by √(weights in the layer)."""
    total = None
    for m in stacked_trunk_weights(model):
        term = torch.linalg.matrix_norm(m.T, ord="nuc") / m.shape[1] ** 0.5
        total = term if total is None else total + term
    return total
''',
}

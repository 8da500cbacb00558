"""Methods are declared once (mtl_core/methods/catalog.py): the CLI, the sidebar and config
validation offer exactly the declared methods and ranges, and the implementations match."""

from __future__ import annotations

import re

import pytest

from mtl_core.cli.main import build_parser
from mtl_core.config import DEFAULT, validate
from mtl_core.errors import ConfigError
from mtl_core.methods import catalog
from tests.helpers.apptest import open_app, use_store


def _train_help() -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices["train"].format_help()


def _help_of(flag: str) -> str:
    """The help text after ``flag`` in ``train --help``, on one line."""
    text = " ".join(_train_help().split())
    return text.split(f" {flag} {flag.lstrip('-').replace('-', '_').upper()} ", 1)[1]


@pytest.mark.parametrize("kind", list(catalog.KINDS))
def test_the_cli_help_offers_exactly_the_declared_methods(kind):
    text = _help_of("--" + kind.replace("_", "-")).split(" (default ")[0]
    offered = re.findall(r"(?:^|; )([\w-]+) —", text)
    assert offered == list(catalog.KINDS[kind])


def test_the_cli_has_a_flag_for_every_declared_hyperparameter():
    text = _train_help()
    for param in catalog.params():
        assert param.flag in text, param.flag


def test_config_validation_follows_the_declared_ranges():
    for param in catalog.params():
        for bad in (param.low - 1, param.high * 2 + 1):
            with pytest.raises(ConfigError, match=param.field):
                validate(DEFAULT.replace(**{param.field: bad}))
    for kind, table in catalog.KINDS.items():
        with pytest.raises(ConfigError, match="allowed: " + ", ".join(table)):
            validate(DEFAULT.replace(**{kind: "no-such-method"}))


def test_the_implementations_match_the_declarations():
    from mtl_core.methods.aggregation import AGGREGATORS
    from mtl_core.methods.optimizers import OPTIMIZERS
    from mtl_core.methods.weighting import WEIGHTINGS
    from mtl_core.models.sharing import PENALTIES, SHARING

    assert list(WEIGHTINGS) == list(catalog.WEIGHTINGS)
    assert ["none", *AGGREGATORS] == list(catalog.AGGREGATORS)
    assert list(SHARING) == list(catalog.SHARING)
    assert list(PENALTIES) == list(catalog.PENALTIES)
    assert list(OPTIMIZERS) == list(catalog.OPTIMIZERS)


# The sidebar's control of each kind of method, by label.
SIDEBAR = {
    "sharing": "Sharing mode",
    "soft_penalty": "Penalty",
    "backbone": "Backbone",
    "weighting": "Loss weighting",
    "aggregator": "Gradient aggregation",
    "optimizer": "Optimizer",
}


def test_the_sidebar_offers_exactly_the_declared_methods(tmp_path, monkeypatch):
    assert set(SIDEBAR) == set(catalog.KINDS), "a declared kind of method has no sidebar control"
    use_store(monkeypatch, tmp_path)
    at = open_app()
    at.session_state["c_sharing"] = "soft"  # the penalty's control shows under soft sharing
    at.run()
    controls = {w.label: w for w in [*at.sidebar.radio, *at.sidebar.selectbox]}
    for kind, label in SIDEBAR.items():  # by name, or by name — help (paper)
        table = catalog.KINDS[kind]
        offered = list(controls[label].options)
        assert offered in (list(table), [m.describe() for m in table.values()]), kind
    at.session_state["c_sharing"] = DEFAULT.sharing
    for kind, table in catalog.KINDS.items():
        for method in table.values():  # each method shows exactly its declared inputs
            if not method.params:
                continue
            at.session_state[f"c_{kind}"] = method.name
            if kind == "aggregator":
                at.session_state["c_weighting"] = "fixed"
            at.run()
            labels = {n.label: n for n in at.sidebar.number_input}
            named = {s.label: s for s in at.sidebar.selectbox}
            for param in method.params:
                if param.named:  # offered by name: every whole value of the range
                    count = int((param.high - param.low) / param.step) + 1
                    options = named[param.label].options
                    assert len(options) == count and param.show(param.low) in options
                    continue
                assert param.label in labels, f"{kind} {method.name}: no {param.label!r} input"
                widget = labels[param.label]
                assert (widget.min, widget.max) == (param.low, param.high), param.field
            at.session_state[f"c_{kind}"] = DEFAULT.to_dict()[kind]


def test_every_weighting_declares_what_its_insights_panel_says():
    for method in catalog.WEIGHTINGS.values():
        assert method.help and method.caption, method.name


def test_the_insights_weights_caption_comes_from_the_declaration(monkeypatch):
    from dataclasses import replace

    from mtl_core.dashboard.pages.insights import weight_title

    changed = replace(catalog.WEIGHTINGS["dwa"], caption="declared caption")
    monkeypatch.setitem(catalog.WEIGHTINGS, "dwa", changed)
    assert weight_title({"weighting": "dwa", "aggregator": "none"}) == (
        "Task weights: dwa weighting",
        "declared caption",
    )


@pytest.mark.parametrize("name", list(catalog.OPTIMIZERS))
def test_the_optimiser_is_built_with_its_declared_hyperparameters(name):
    import torch

    from mtl_core.methods.optimizers import build_optimizer

    weight = torch.nn.Parameter(torch.zeros(2))
    method = catalog.OPTIMIZERS[name]
    values = {p.arg: round(p.low + (p.high - p.low) * 0.37, 3) for p in method.params}
    optimizer = build_optimizer(name, [{"params": [weight]}], 0.125, **values)
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.125
    for arg, value in values.items():
        assert group[arg] == value, f"{name} ignores its declared {arg}"


def test_the_trainer_builds_the_configs_optimiser(monkeypatch):
    """The run's optimiser is the one its config names, with the config's momentum."""
    from mtl_core.training.loop import _Loop
    from mtl_core.training.trainer import train

    built = {}
    original = _Loop.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        built["optimizer"] = self.optimizer

    monkeypatch.setattr(_Loop, "__init__", spy)
    config = DEFAULT.replace(
        dataset="digits", train_size=100, width=16, epochs=1, optimizer="sgd", momentum=0.37
    )
    assert train(config).status == "completed"
    assert type(built["optimizer"]).__name__ == "SGD"
    assert built["optimizer"].param_groups[0]["momentum"] == 0.37


def test_the_trainer_names_no_weighting_aggregator_or_optimiser():
    """The trainer builds methods from registries keyed by the catalog: no
    ``if config.optimizer == "adam"`` (or any other method's name) in mtl_core/training."""
    import ast
    from pathlib import Path

    names = {*catalog.WEIGHTINGS, *catalog.OPTIMIZERS, *catalog.AGGREGATORS} - {"none"}
    root = Path(__file__).resolve().parents[1]
    found = []
    for path in sorted((root / "mtl_core" / "training").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                for side in (node.left, *node.comparators):
                    if isinstance(side, ast.Constant) and side.value in names:
                        found.append(f"{path.relative_to(root)}:{node.lineno} {side.value!r}")
    assert not found, "the trainer special-cases methods: " + ", ".join(found)


def test_a_choice_is_named_in_its_box_and_described_in_its_help_when_few(tmp_path, monkeypatch):
    """The box shows the name alone (a description in it was cut off in the sidebar:
    tests/e2e/test_sidebar_choices_browser.py); the help lists every option's description
    when the tooltip can show them whole, and says where they are when it cannot."""
    from mtl_core.dashboard.widgets.controls import LISTED

    use_store(monkeypatch, tmp_path)
    at = open_app({})
    boxes = {w.label: w for w in at.sidebar.selectbox}
    weighting, aggregator = boxes["Loss weighting"], boxes["Gradient aggregation"]
    assert list(weighting.options) == list(catalog.WEIGHTINGS)
    assert len(catalog.WEIGHTINGS) <= LISTED < len(catalog.AGGREGATORS)
    for name, method in catalog.WEIGHTINGS.items():
        assert f"**{name}**: {method.describe().removeprefix(name + ' — ')}" in weighting.help
    assert "described beneath the box" in aggregator.help
    assert not any(f"**{name}**" in aggregator.help for name in catalog.AGGREGATORS)

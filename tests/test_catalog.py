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


@pytest.mark.parametrize("kind", [k for k in catalog.KINDS if k != "optimizer"])
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
    from mtl_core.methods.weighting import WEIGHTINGS
    from mtl_core.models.sharing import PENALTIES, SHARING

    assert list(WEIGHTINGS) == list(catalog.WEIGHTINGS)
    assert ["none", *AGGREGATORS] == list(catalog.AGGREGATORS)
    assert list(SHARING) == list(catalog.SHARING)
    assert list(PENALTIES) == list(catalog.PENALTIES)


def test_the_sidebar_offers_exactly_the_declared_methods(tmp_path, monkeypatch):
    use_store(monkeypatch, tmp_path)
    at = open_app()
    sharing = next(r for r in at.sidebar.radio if r.label == "Sharing mode")
    assert list(sharing.options) == list(catalog.SHARING)
    boxes = {s.label: s for s in at.sidebar.selectbox}
    assert list(boxes["Loss weighting"].options) == [
        m.describe() for m in catalog.WEIGHTINGS.values()
    ]
    assert list(boxes["Gradient aggregation"].options) == [
        m.describe() for m in catalog.AGGREGATORS.values()
    ]
    kinds = (
        ("sharing", catalog.SHARING),
        ("weighting", catalog.WEIGHTINGS),
        ("aggregator", catalog.AGGREGATORS),
        ("backbone", catalog.BACKBONES),
    )
    for kind, table in kinds:
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

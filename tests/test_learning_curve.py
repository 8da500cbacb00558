"""Learning curves: sizes parse, configs are resized, and the table has one row per
(size, arm) with mean ± sd over seeds."""

from __future__ import annotations

import pandas as pd
import pytest

from mtl_core.cli.main import main
from mtl_core.errors import ConfigError
from mtl_core.store.runs import RunStore
from mtl_core.studies.learning_curve import curve_arms, curve_table, parse_sizes, sized


@pytest.mark.parametrize("text", ["abc", "", "100,x", "1e3", "-100", " , "])
def test_bad_sizes_name_sizes(text):
    with pytest.raises(ConfigError, match="^sizes: expected comma-separated whole numbers"):
        parse_sizes(text)


def test_sizes_sorted_without_repeats():
    assert parse_sizes("1000, 100,300,100") == [100, 300, 1000]
    with pytest.raises(ConfigError, match="^sizes: at most 12"):
        parse_sizes(",".join(str(10 + i) for i in range(13)))


def test_resized_configs_and_arms(make_config):
    """The main task's budget follows the size; an auxiliary budget stays; a size beyond
    the data names train_size."""
    config = make_config(aux=["parity"], task_sizes={"digit": 50, "parity": 500})
    small = sized(config, 40)
    assert (small.train_size, small.task_sizes) == (40, {"parity": 500})
    arms = curve_arms(small)
    assert list(arms) == ["single task", "hard sharing"]
    assert arms["single task"].aux == () and arms["single task"].train_size == 40
    assert list(curve_arms(make_config(sharing="single"))) == ["single task"]
    with pytest.raises(ConfigError, match="^train_size: "):
        sized(config, 5000)


def test_table_has_one_row_per_size_and_arm():
    def values(size: int, arm: str) -> list[float]:
        return [0.5 + size / 1000 + (arm == "hard sharing") / 10, 0.6, 0.7]

    rows = [
        {"size": s, "arm": a, "seed": i, "best_val": v, "test": v - 0.01}
        for s in (300, 100)
        for a in ("single task", "hard sharing")
        for i, v in enumerate(values(s, a))
    ]
    table = curve_table(pd.DataFrame(rows))
    assert list(zip(table["size"], table["arm"], strict=True)) == [
        (100, "single task"),
        (100, "hard sharing"),
        (300, "single task"),
        (300, "hard sharing"),
    ]
    assert list(table["n"]) == [3, 3, 3, 3]
    first = table.iloc[0]
    values = pd.Series([0.6, 0.6, 0.7])
    assert first["val_mean"] == pytest.approx(values.mean())
    assert first["val_sd"] == pytest.approx(values.std())
    assert first["test_mean"] == pytest.approx(values.mean() - 0.01)


@pytest.mark.slow
def test_learning_curve_of_an_aggregator_run_through_the_cli(capsys, tmp_path):
    """`learning-curve --aggregator pcgrad` trains the single-task arm without the
    aggregator (it would be an invalid config) and the multi-task arm with it."""
    store = tmp_path / "runs.sqlite"
    args = (
        "learning-curve --dataset digits --width 16 --depth 1 --epochs 2 --batch-size 16 "
        "--aux parity --aggregator pcgrad --sizes 30,40 --k 2 --quiet --store"
    )
    code = main([*args.split(), str(store)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [line.split()[:3] for line in out.splitlines()[2:6]] == [
        ["30", "single", "task"],
        ["30", "hard", "sharing"],
        ["40", "single", "task"],
        ["40", "hard", "sharing"],
    ]
    with RunStore(store) as reader:
        runs = reader.runs()
    assert len(runs) == 8 and set(runs["status"]) == {"completed"}
    arms = {(c["sharing"], c["aggregator"], tuple(c["aux"])) for c in runs["config"]}
    assert arms == {("single", "none", ()), ("hard", "pcgrad", ("parity",))}


def test_the_views_caption_says_on_how_many_images_each_task_is_labelled():
    # "digit labels only on the training images counted on the x-axis": a teacher could
    # not tell whether the auxiliary labels shrank with the size too
    from mtl_core.config import DEFAULT
    from mtl_core.dashboard.pages.learning import curve_caption

    arms = ["single task", "hard sharing"]
    same = curve_caption(DEFAULT.replace(aux=["parity"]), "digit", arms)
    assert same == (
        "For the sidebar's setup, at each train size N (the x-axis): single task vs hard "
        "sharing, trained on N images labelled with digit; auxiliary tasks: parity labelled "
        "on the same N images."
    )
    budget = DEFAULT.replace(aux=["parity", "magnitude"], task_sizes={"parity": 3000})
    said = curve_caption(budget, "digit", arms)
    assert said.endswith(
        "auxiliary tasks: magnitude labelled on the same N images; parity on 3,000 images "
        "(its label budget)."
    )
    assert "auxiliary" not in curve_caption(DEFAULT.replace(aux=[]), "digit", arms[:1])

"""TAG's network selection (mtl_core/analysis/affinity_groups.py) against the literal
definition searched by brute force, on cases with a known answer, and the ``affinity``
command that prints it."""

from __future__ import annotations

import itertools
import math
import random

import pandas as pd
import pytest

from mtl_core.analysis.affinity_groups import (
    MAX_TASKS,
    GroupingError,
    received,
    select_networks,
)
from mtl_core.cli.main import main
from mtl_core.store.runs import RunStore
from mtl_core.studies.grouping import ALL_IN_ONE, COLUMNS, SINGLE, GroupingStudy
from mtl_core.training.trainer import train
from tests.conftest import tiny_config


def matrix(tasks: list[str], pairs: dict[tuple[str, str], float]) -> dict:
    return {s: {t: pairs.get((s, t), 0.0) for t in tasks} for s in tasks}


def brute_force(affinity: dict, tasks: list[str], mains: list[str], networks: int) -> float:
    """The definition, searched literally: every choice of ``networks`` groups among all
    subsets of the tasks; each main task is scored by its best chosen group; a choice
    that leaves a main task out is not allowed."""
    groups = [g for r in range(1, len(tasks) + 1) for g in itertools.combinations(tasks, r)]
    best = -math.inf
    for count in range(1, networks + 1):
        for chosen in itertools.combinations(groups, count):
            total = 0.0
            for task in mains:
                scores = [received(affinity, task, g) for g in chosen if task in g]
                if not scores:
                    break
                total += max(scores)
            else:
                best = max(best, total)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_the_search_finds_the_best_selection_of_the_brute_force_definition(seed):
    rng = random.Random(seed)
    size = rng.choice([3, 4])
    tasks = [f"t{i}" for i in range(size)]
    mains = rng.sample(tasks, rng.randint(1, size))
    affinity = {s: {t: rng.uniform(-1, 1) for t in tasks} for s in tasks}
    networks = rng.randint(1, 3)
    selection = select_networks(affinity, tasks, mains, networks)
    assert selection.total == pytest.approx(brute_force(affinity, tasks, mains, networks))
    # the reported total is the score the chosen networks give, and every main task is served
    assert selection.total == pytest.approx(sum(selection.score_of(t) for t in mains))
    assert len(selection.networks) <= networks
    for network in selection.networks:
        for task, score in network.serves.items():
            assert score == pytest.approx(received(affinity, task, network.tasks))


def test_two_clusters_that_hurt_each_other_are_split_into_two_networks():
    tasks = ["a", "b", "c", "d"]
    pairs = {("a", "b"): 0.3, ("b", "a"): 0.2, ("c", "d"): 0.1, ("d", "c"): 0.4}
    pairs |= {(s, t): -0.5 for s in "ab" for t in "cd"} | {(s, t): -0.5 for s in "cd" for t in "ab"}
    selection = select_networks(matrix(tasks, pairs), tasks, tasks, 2)
    assert [n.tasks for n in selection.networks] == [("a", "b"), ("c", "d")]
    assert selection.total == pytest.approx(0.3 + 0.2 + 0.1 + 0.4)
    one = select_networks(matrix(tasks, pairs), tasks, tasks, 1)
    assert [n.tasks for n in one.networks] == [("a", "b", "c", "d")]


def test_groups_overlap_when_a_task_helps_two_that_hurt_each_other():
    """h helps x and y; x and y hurt each other: {x, h} and {y, h}, h in both."""
    tasks = ["x", "y", "h"]
    pairs = {("h", "x"): 0.2, ("h", "y"): 0.3, ("x", "y"): -0.4, ("y", "x"): -0.4}
    selection = select_networks(matrix(tasks, pairs), tasks, ["x", "y", "h"], 2)
    assert sorted(n.tasks for n in selection.networks) == [("x", "h"), ("y", "h")]


def test_auxiliary_tasks_join_only_where_they_help_and_need_no_network_of_their_own():
    """digit is the only main task: good helps it, bad hurts it, idle does nothing."""
    tasks = ["digit", "good", "bad", "idle"]
    pairs = {("good", "digit"): 0.05, ("bad", "digit"): -0.05, ("good", "bad"): 0.9}
    selection = select_networks(matrix(tasks, pairs), tasks, ["digit"], 3)
    assert [n.tasks for n in selection.networks] == [("digit", "good")]
    hurt = select_networks(matrix(tasks, {("bad", "digit"): -0.05}), tasks, ["digit"], 1)
    assert [n.tasks for n in hurt.networks] == [("digit",)]  # alone: score 0 beats -0.05
    assert hurt.total == 0.0


def test_an_unmeasured_pair_counts_as_no_effect():
    tasks = ["a", "b"]
    affinity = {"a": {"a": 0.1, "b": math.nan}, "b": {"a": 0.2, "b": 0.1}}
    assert received(affinity, "b", ("a", "b")) == 0.0
    assert select_networks(affinity, tasks, tasks, 1).total == pytest.approx(0.2)


def test_eight_tasks_are_searched_and_nine_are_refused_in_one_line():
    rng = random.Random(0)
    tasks = [f"t{i}" for i in range(MAX_TASKS)]
    affinity = {s: {t: rng.uniform(-1, 1) for t in tasks} for s in tasks}
    selection = select_networks(affinity, tasks, tasks, 3)
    assert {t for n in selection.networks for t in n.serves} == set(tasks)
    tasks.append("t8")
    with pytest.raises(GroupingError, match=f"exhaustive up to {MAX_TASKS} tasks; this run has 9"):
        select_networks(affinity, tasks, tasks, 2)
    with pytest.raises(GroupingError, match="--groups must be 1 or more"):
        select_networks(affinity, tasks[:2], tasks[:2], 0)


@pytest.fixture
def store_with_affinity(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        hard = train(tiny_config(tasks=["digit", "parity"], aux=["loops"], epochs=2), store=store)
        off = train(tiny_config(aux=["parity"], epochs=1, affinity_every=0), store=store)
        soft = train(tiny_config(aux=["parity"], epochs=1, sharing="soft"), store=store)
    return str(path), hard.run_id, off.run_id, soft.run_id


def test_the_affinity_command_prints_the_matrix_sentences_and_groups(store_with_affinity, capsys):
    path, hard, _, _ = store_with_affinity
    assert main(["affinity", str(hard), "--store", path, "--groups", "2"]) == 0
    out = capsys.readouterr().out
    assert "mean of 2 epoch(s), measured every 10 steps" in out
    assert "loops (aux)" in out and "digit's loss" in out
    assert "TAG network selection, 2 network(s)" in out
    groups = out.split("groups:\n")[1].strip().splitlines()
    assert 1 <= len(groups) <= 2
    served = {t for line in groups for t in line.strip().split(" + ")}
    assert {"digit", "parity"} <= served


def test_the_affinity_command_says_in_one_line_why_a_run_has_none(store_with_affinity, capsys):
    path, _, off, soft = store_with_affinity
    assert main(["affinity", str(off), "--store", path]) == 2
    assert capsys.readouterr().err == (
        f"error: run {off} recorded no inter-task affinity: it was turned off (--no-affinity)\n"
    )
    assert main(["affinity", str(soft), "--store", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hard sharing with two or more tasks" in err


def test_each_network_trains_its_served_tasks_as_main_and_its_helpers_at_their_weights():
    from mtl_core.analysis.affinity_groups import Network, Selection
    from mtl_core.studies.grouping import ALL_IN_ONE, GROUPED, SINGLE, network_config, plan

    config = tiny_config(
        tasks=["digit", "parity"],
        aux=["loops", "magnitude"],
        aux_weight=0.5,
        aux_weights={"magnitude": 2.0},
        shuffle_aux=0.2,
        task_sizes={"parity": 50, "loops": 40},
    )
    helped = Network(("digit", "parity", "magnitude"), {"digit": 0.1})
    alone = Network(("parity",), {"parity": 0.0})
    digit_net = network_config(config, helped)
    assert digit_net.tasks == ("digit",) and digit_net.aux == ("parity", "magnitude")
    assert digit_net.weight_of("parity") == 1.0 and digit_net.shuffle_of("parity") == 0.0
    assert digit_net.weight_of("magnitude") == 2.0 and digit_net.shuffle_of("magnitude") == 0.2
    assert digit_net.task_sizes == {"parity": 50}
    both = network_config(config, Network(("digit", "parity"), {"digit": 0.0, "parity": 0.0}))
    assert both.tasks == ("digit", "parity") and both.aux == () and both.sharing == "hard"
    parity_net = network_config(config, alone)
    assert parity_net.all_tasks == ("parity",) and parity_net.sharing == "single"
    jobs = plan(config, Selection((helped, alone), 0.1), 2, True)
    arms = [arm for arm, _, _ in jobs]
    assert arms.count(ALL_IN_ONE) == 2 and arms.count(GROUPED) == 4 and arms.count(SINGLE) == 4
    assert {c.seed for _, _, c in jobs} == {0, 1} and {c.data_seed for _, _, c in jobs} == {0, 1}
    assert [c for a, _, c in jobs if a == SINGLE and c.tasks == ("parity",)][0] == parity_net


def test_a_grouping_of_one_network_of_every_task_is_the_run_itself():
    """Nothing to compare: the page offered to train it against all-in-one (the same runs
    twice) and showed "grouped 0.971, all in one 0.971" from one run."""
    from mtl_core.analysis.affinity_groups import Network, Selection
    from mtl_core.studies.grouping import keeps_the_run

    config = tiny_config(tasks=["digit"], aux=["parity", "magnitude"])
    every = Network(("digit", "magnitude", "parity"), {"digit": 0.1})
    assert keeps_the_run(config, Selection((every,), 0.1))
    helped = Network(("digit", "parity"), {"digit": 0.1})  # magnitude left out: a new setup
    assert not keeps_the_run(config, Selection((helped,), 0.1))
    two = tiny_config(tasks=["digit", "parity"])
    split = (Network(("digit",), {"digit": 0.0}), Network(("parity",), {"parity": 0.0}))
    assert not keeps_the_run(two, Selection(split, 0.0))


def test_the_table_names_the_seeds_each_arms_means_are_over():
    # while the comparison fills in, one arm's mean of one seed read like another's of three
    def row(arm, task, seed, status="completed", test=0.5):
        return [arm, "net", task, seed, seed, seed, status, test]

    rows = [row(SINGLE, "digit", 1, test=0.8)]
    rows += [row(SINGLE, "digit", s, status="running", test=None) for s in (2, 3)]
    rows += [row(ALL_IN_ONE, t, s, test=0.1 * s) for t in ("digit", "parity") for s in (1, 2, 3)]
    table = GroupingStudy(pd.DataFrame(rows, columns=COLUMNS), [], []).table()
    assert list(table.columns) == ["single task · 1 seed", "all in one · 3 seeds"]
    assert table.loc["digit", "single task · 1 seed"] == pytest.approx(0.8)
    assert table.loc["parity", "all in one · 3 seeds"] == pytest.approx(0.2)


@pytest.mark.slow
def test_train_the_suggested_grouping_compares_it_with_all_in_one_and_single_task(
    store_with_affinity, capsys
):
    path, hard, _, _ = store_with_affinity
    flags = ["--groups", "2", "--train", "--seeds", "2", "--workers", "1"]
    assert main(["affinity", str(hard), "--store", path, *flags]) == 0
    out = capsys.readouterr().out
    table = out.split("mean over the seeds each column names:\n")[1]
    for arm in ("single task", "all in one", "grouped"):
        assert f"{arm} · 2 seeds" in table
    for task in ("digit", "parity"):
        assert f"{task}: grouped − all in one = " in out and f"{task}: grouped − single task" in out
    with RunStore(path) as store:
        names = list(store.runs().name)
    assert sum(n.startswith(f"grouping of run {hard}: grouped: ") for n in names) >= 2

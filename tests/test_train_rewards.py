"""GRPO rewards and the coupling statistics on known inputs, against hand values and numpy."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vlmdiag.tasks import get_task
from vlmdiag.tasks.base import write_response
from vlmdiag.training.coupling import by_task, coupling, pearson, read_rollouts
from vlmdiag.training.rewards import RewardSuite, score_batch, strict_majority

PATH = {"v": 4, "c": 2, "edges": [[0, 1], [1, 2], [2, 3]]}  # a path: chromatic number 2


def graph_reply(edges, colours: str) -> str:
    return write_response(json.dumps(edges), "colour greedily", colours).text


RIGHT = graph_reply(PATH["edges"], '{"0": "a", "1": "b", "2": "a", "3": "b"}')
# Misses edge 2-3; the colouring is right for the graph it read, wrong for the true one.
MISREAD = graph_reply([[0, 1], [1, 2]], '{"0": "a", "1": "b", "2": "a", "3": "a"}')
# Reads the graph right, then uses three colours: not the chromatic number.
BAD_REASONING = graph_reply(PATH["edges"], '{"0": "a", "1": "b", "2": "c", "3": "a"}')
JUNK = "no idea"
OUT_OF_RANGE = graph_reply([[0, 1], [3, 7]], '{"0": "a", "1": "b", "2": "a", "3": "b"}')


def scored(completions, ids=None, alpha=0.2, perception_reward="gt"):
    ids = ids or ["q"] * len(completions)
    return score_batch(get_task("graph"), completions, [json.dumps(PATH)] * len(completions), ids, alpha,
                       perception_reward)


def column(rollouts, name):
    return [getattr(r, name) for r in rollouts]


def test_graph_rewards_match_hand_values():
    rollouts = scored([RIGHT, MISREAD, BAD_REASONING, JUNK, OUT_OF_RANGE])
    assert column(rollouts, "a") == [1, 0, 0, 0, 1]  # a right answer despite a misread graph still counts
    assert column(rollouts, "a_p") == [1, 0, 1, 0, 0]
    assert column(rollouts, "reasoning") == [1, 1, 0, 0, 0]
    assert column(rollouts, "consistency") == column(rollouts, "reasoning")
    assert column(rollouts, "format") == [1, 1, 1, 0, 0]
    # RIGHT and BAD_REASONING agree (2 votes) against MISREAD and OUT_OF_RANGE (1 each).
    assert column(rollouts, "majority") == [1, 0, 1, 0, 0]
    assert column(rollouts, "reward") == pytest.approx([1.0, 0.0, 0.2, 0.0, 0.8])


@pytest.mark.parametrize("choice, expected", [
    ("gt", [1.0, 0.0, 0.3]), ("consistency", [1.0, 0.3, 0.0]), ("format", [1.0, 0.3, 0.3]),
    ("majority", [1.0, 0.0, 0.3]), ("none", [1.0, 0.0, 0.0]),
])
def test_total_reward_mixes_alpha_of_the_chosen_signal(choice, expected):
    rollouts = scored([RIGHT, MISREAD, BAD_REASONING], alpha=0.3, perception_reward=choice)
    assert column(rollouts, "reward") == pytest.approx(expected)


def test_majority_is_taken_within_each_prompt_group_and_needs_a_strict_winner():
    rollouts = scored([RIGHT, MISREAD, MISREAD, RIGHT], ids=["p", "q", "q", "p"])
    assert column(rollouts, "majority") == [1, 1, 1, 1]
    assert column(scored([RIGHT, MISREAD]), "majority") == [0, 0]
    assert strict_majority(["x", None, None]) == "x" and strict_majority([None, None]) is None


def test_sudoku_consistency_and_correctness():
    task = get_task("sudoku")
    from vlmdiag.hub.build import make_sample

    puzzle = make_sample(task, task.config_cls(), 0, 0).problem
    right = task.trace(puzzle).text
    wrong = right[: right.rindex("[[")] + "[[1, 1]]"
    rollouts = score_batch(task, [right, wrong], [json.dumps(puzzle)] * 2, ["s", "s"], 0.5, "consistency")
    assert column(rollouts, "a") == [1, 0] and column(rollouts, "reasoning") == [1, 0]
    assert column(rollouts, "a_p") == [1, 1] and column(rollouts, "majority") == [1, 1]


def test_reward_suite_scores_each_batch_once_and_weights_the_chosen_signal():
    seen = []
    suite = RewardSuite(get_task("graph"), 0.25, "majority", on_scored=lambda rollouts, *_: seen.append(rollouts))
    assert suite.weights() == [0.75, 0.0, 0.25, 0.0, 0.0]
    completions = [[{"role": "assistant", "content": RIGHT}], [{"role": "assistant", "content": JUNK}]]
    kwargs = dict(completions=completions, ground_truth=[json.dumps(PATH)] * 2, id=["q", "q"], prompts=None)
    values = {f.__name__: f(**kwargs) for f in suite.functions()}
    assert values == {"a": [1, 0], "a_p": [1, 0], "majority": [1, 0], "consistency": [1, 0], "format": [1, 0]}
    assert len(seen) == 1
    assert RewardSuite(get_task("graph"), 0.25, "none").weights() == [1.0, 0.0, 0.0, 0.0, 0.0]


# -- coupling -----------------------------------------------------------------------------------

def test_pearson_matches_numpy_and_is_nan_without_variance():
    rng = np.random.default_rng(3)
    x, y = rng.random(50), rng.random(50)
    assert pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert math.isnan(pearson([1, 1, 1], [0, 1, 0])) and math.isnan(pearson([1], [1]))


def records(reward, a_p, reasoning, task="graph"):
    return [{"task": task, "reward": r, "a": r, "a_p": p, "reasoning": q, "majority": p, "consistency": q,
             "format": 1.0} for r, p, q in zip(reward, a_p, reasoning)]


def test_coupling_statistics_equal_the_phi_coefficient_of_the_two_by_two_table():
    reward = [1, 1, 1, 0, 0, 0, 0, 1]
    a_p = [1, 0, 1, 0, 1, 0, 0, 1]
    reasoning = [1, 1, 1, 0, 0, 0, 1, 1]
    stats = coupling(records(reward, a_p, reasoning))
    # phi = (n11 n00 - n10 n01) / sqrt(n1. n0. n.1 n.0) for reward vs a_p: n11=3 n10=1 n01=1 n00=3
    assert stats["reward~perception"] == pytest.approx((3 * 3 - 1 * 1) / math.sqrt(4 * 4 * 4 * 4))
    assert stats["reward~reasoning"] == pytest.approx(np.corrcoef(reward, reasoning)[0, 1])
    assert stats["majority~perception"] == pytest.approx(1.0)
    assert math.isnan(stats["format~perception"])
    assert stats["rate/a_p"] == 0.5 and stats["n"] == 8


def test_rollouts_are_read_from_a_folder_and_split_by_task(tmp_path):
    rows = records([1, 0, 1], [1, 0, 0], [1, 0, 1]) + records([0, 1], [0, 1], [1, 1], task="sudoku")
    (tmp_path / "run" / "a").mkdir(parents=True)
    (tmp_path / "run" / "a" / "rollouts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = read_rollouts(tmp_path / "run")
    assert loaded == rows
    tables = by_task(loaded)
    assert set(tables) == {"graph", "sudoku"} and tables["graph"]["n"] == 3
    assert tables["sudoku"]["reward~perception"] == pytest.approx(1.0)


def test_rollout_log_appends_records_and_logs_the_finite_coupling_statistics(tmp_path):
    pytest.importorskip("torch")
    from types import SimpleNamespace

    from vlmdiag.training.grpo import RolloutLog

    log = RolloutLog(tmp_path, window=4)
    logged: dict[str, float] = {}
    first = scored([RIGHT, MISREAD, BAD_REASONING])
    second = scored([JUNK, RIGHT])
    log(first, ["r", "m", "b"], lambda k, v: logged.update({k: v}), SimpleNamespace(global_step=0))
    log(second, ["j", "r"], lambda k, v: logged.update({k: v}), SimpleNamespace(global_step=1))
    lines = [json.loads(line) for line in (tmp_path / "rollouts.jsonl").read_text().splitlines()]
    assert [r["completion"] for r in lines] == ["r", "m", "b", "j", "r"]
    assert [r["step"] for r in lines] == [0, 0, 0, 1, 1]
    window = coupling(lines[-4:])  # the window keeps the latest four
    assert logged["coupling/reward~perception"] == pytest.approx(window["reward~perception"])
    assert logged["coupling/consistency~perception"] == pytest.approx(window["consistency~perception"])
    assert all(math.isfinite(v) for v in logged.values())

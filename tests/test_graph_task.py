"""The graph task's text side: prompts, parser, verifier, perception scorer and written solutions."""
from __future__ import annotations

import json
import sys
import types

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlmdiag.generators.graph import GraphConfig, sample_graph
from vlmdiag.seeding import rng_for
from vlmdiag.tasks import get_task
from vlmdiag.tasks.base import Parsed

TASK = get_task("graph")
# A triangle 0-1-2 with a tail 2-3-4: χ = 3.
PROBLEM = {"v": 5, "c": 3, "edges": [[0, 1], [0, 2], [1, 2], [2, 3], [3, 4]]}
EDGES = PROBLEM["edges"]
GOOD = {0: "a", 1: "b", 2: "c", 3: "a", 4: "b"}


def generated(n: int, **options) -> list[dict]:
    config = GraphConfig(**options)
    return [sample_graph(config, rng_for(11, i)).problem for i in range(n)]


# -- the task's text forms --------------------------------------------------------------------

def test_ground_truth_is_the_public_format():
    assert TASK.ground_truth(PROBLEM) == (
        '{"v": 5, "c": 3, "edges": [[0, 1], [0, 2], [1, 2], [2, 3], [3, 4]]}')
    assert TASK.perception_text(PROBLEM) == "[[0, 1], [0, 2], [1, 2], [2, 3], [3, 4]]"
    assert TASK.load_problem(TASK.ground_truth(PROBLEM)) == PROBLEM


def test_prompt_asks_for_the_three_sections_without_leaking_the_edges():
    prompt = TASK.prompt(PROBLEM)
    assert "5 vertices" in prompt and "0 to 4" in prompt
    assert prompt.index('"Perception:"') < prompt.index('"Reasoning:"') < prompt.index('"Answer:"')
    assert "chromatic number" in prompt and "a, b, c" in prompt
    assert "[2, 3]" not in prompt and "[3, 4]" not in prompt


def test_counterfactual_prompt_hands_over_the_edge_list():
    prompt = TASK.counterfactual_prompt(PROBLEM)
    assert TASK.perception_text(PROBLEM) in prompt
    assert "Perception:" not in prompt and '"Answer:"' in prompt and '"Reasoning:"' in prompt


def test_metadata_columns_cover_generator_and_renderer_keys():
    sample = sample_graph(GraphConfig(), rng_for(0, 0))
    renderer_keys = {"layout", "crossings", "style_preset", "style", "image_size"}
    assert set(TASK.meta_features) == set(sample.meta) | renderer_keys
    assert set(TASK.breakdown_columns) <= set(TASK.meta_features)


def test_render_hands_the_problem_to_the_renderer(monkeypatch):
    calls = []
    fake = types.ModuleType("vlmdiag.renderers.graph")
    fake.render_graph = lambda v, edges, config, rng: calls.append((v, edges, config, rng)) or ("image", {})
    monkeypatch.setitem(sys.modules, "vlmdiag.renderers.graph", fake)
    config, rng = GraphConfig(), rng_for(0, 0)
    sample = sample_graph(config, rng)
    assert TASK.render(sample, config, rng) == ("image", {})
    assert calls == [(sample.problem["v"], sample.problem["edges"], config, rng)]


# -- verifier ----------------------------------------------------------------------------------

def test_a_proper_colouring_with_chi_colours_is_correct():
    assert TASK.verify(PROBLEM, GOOD)


@pytest.mark.parametrize("answer", [
    {**GOOD, 3: "c"},                      # adjacent 2 and 3 share c
    {**GOOD, 4: "d"},                      # proper, but four colours
    {0: "a", 1: "b", 2: "c", 3: "a"},      # vertex 4 missing
    {**GOOD, 5: "a"},                      # vertex 5 does not exist
    {**GOOD, -1: "a"},
    {str(k): c for k, c in GOOD.items()},  # keys must be vertex numbers
    None,
    ["a", "b", "c", "a", "b"],
    {**GOOD, 0: None},
])
def test_wrong_answers_are_rejected(answer):
    assert not TASK.verify(PROBLEM, answer)


def test_too_few_colours_is_wrong_even_if_proper():
    bipartite = {"v": 4, "c": 2, "edges": [[0, 1], [1, 2], [2, 3]]}
    assert TASK.verify(bipartite, {0: "a", 1: "b", 2: "a", 3: "b"})
    assert not TASK.verify({**bipartite, "c": 3}, {0: "a", 1: "b", 2: "a", 3: "b"})


# -- perception scorer ---------------------------------------------------------------------------

def test_perception_scores():
    assert TASK.score_perception(PROBLEM, EDGES) == {"exact": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    missing = TASK.score_perception(PROBLEM, EDGES[:4])
    assert missing["exact"] == 0.0 and missing["precision"] == 1.0 and missing["recall"] == 0.8
    assert missing["f1"] == pytest.approx(2 * 0.8 / 1.8)
    extra = TASK.score_perception(PROBLEM, EDGES + [[1, 4], [0, 4], [0, 3]])
    assert extra["recall"] == 1.0 and extra["precision"] == 5 / 8
    assert TASK.score_perception(PROBLEM, [[1, 0], [2, 0], [2, 1], [3, 2], [4, 3]])["exact"] == 1.0
    assert TASK.score_perception(PROBLEM, None) == {"exact": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert TASK.score_perception(PROBLEM, [])["f1"] == 0.0
    empty = {"v": 3, "c": 1, "edges": []}
    assert TASK.score_perception(empty, []) == {"exact": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert TASK.score_perception(empty, [[0, 1]])["exact"] == 0.0


# -- parser on what models write -------------------------------------------------------------------

GOOD_JSON = json.dumps({str(k): c for k, c in GOOD.items()})
PARSE_CASES = [
    ("canonical", f"Perception:\n{json.dumps(EDGES)}\n\nReasoning:\nThree colours.\n\nAnswer:\n{GOOD_JSON}"),
    ("thinking and markdown",
     "<think>maybe [[9, 9]] and {\"0\": \"z\"}</think>\n**Perception:**\n```json\n"
     "[[1, 0], [0, 2], [1, 2], [2, 3], [3, 4], [2, 3]]\n```\n**Reasoning:**\nok\n\n**Answer:**\n"
     f"```json\n{GOOD_JSON}\n```"),
    ("python literals and final answer",
     "Perception: [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4)]\nReasoning: fine\n"
     "Final Answer: {0: 'a', 1: 'b', 2: 'c', 3: 'a', 4: 'b'}"),
    ("vertex arrows, upper case",
     "### Perception\nPerception: [[0,1],[0,2],[1,2],[2,3],[3,4]]\n### Answer\nAnswer:\n"
     "vertex 0 -> A\nvertex 1 -> B\nvertex 2 -> C\nvertex 3 -> A\nvertex 4 -> B"),
    ("colon lines", f"Perception:\n{json.dumps(EDGES)}\nAnswer:\n0: a\n1: b\n2: c\n3: a\n4: b\n"),
    ("colour classes", f"Perception:\n{json.dumps(EDGES)}\nAnswer:\na: 0, 3\nb: 1, 4\nc: 2"),
    ("list of letters", f"Perception:\n{json.dumps(EDGES)}\nAnswer:\n[\"a\", \"b\", \"c\", \"a\", \"b\"]"),
    ("wrapped object",
     f"Perception:\n{json.dumps(EDGES)}\nAnswer:\n"
     '{"chromatic_number": 3, "colouring": {"vertex 0": "a", "vertex 1": "b", "vertex 2": "c", '
     '"vertex 3": "a", "vertex 4": "b"}}'),
    ("dash pairs", "Perception:\nEdges: 0-1, 0-2, 1-2, 2-3, 3-4\nReasoning:\nx\nAnswer:\n" + GOOD_JSON),
    ("no sections",
     f"The edges are {json.dumps(EDGES)}. A triangle needs 3 colours. {{\"0\": \"z\"}} no wait: {GOOD_JSON}"),
    ("last answer wins",
     f"Perception:\n{json.dumps(EDGES)}\nAnswer:\n{{\"0\": \"a\"}}\nHmm, let me redo.\nAnswer:\n{GOOD_JSON}"),
]


@pytest.mark.parametrize("name, response", PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_parser_reads_realistic_responses(name, response):
    parsed = TASK.parse(response)
    assert parsed == Parsed(perception=EDGES, answer=GOOD)
    assert TASK.verify(PROBLEM, parsed.answer)


@pytest.mark.parametrize("response, perception_error, answer_error", [
    ("", "no Perception section", "no Answer section"),
    ("<think>Perception: [[0, 1]]\nAnswer: {\"0\": \"a\"}", "no Perception section", "no Answer section"),
    ("Perception:\nI cannot read the image.\nAnswer:\nred, green", "no edge list", "no colouring"),
    ("Perception:\n[[0, 1], [2]]\nAnswer:\n{\"0\": \"a\", \"x\": \"b\"}",
     "item 2 of the edge list", "'x' is not a vertex"),
    ("Perception: [[0, 1], null]\nAnswer: {}", "item 2 of the edge list", "the colouring is empty"),
    ("Perception: []\nAnswer: 0: a, 1: b, 0: c", None, "vertex 0 is given two colours"),
    ("Answer: {\"0\": [1, 2]}", "no Perception section", "vertex 0 has no readable colour"),
])
def test_parser_says_why_it_failed(response, perception_error, answer_error):
    parsed = TASK.parse(response)
    for value, error, expected in ((parsed.perception, parsed.perception_error, perception_error),
                                   (parsed.answer, parsed.answer_error, answer_error)):
        if expected is None:
            assert value is not None and error is None
        else:
            assert value is None and expected in error


def test_empty_edge_list_is_a_perception():
    parsed = TASK.parse('Perception:\n[]\n\nReasoning:\nNo edges.\n\nAnswer:\n{"0": "a", "1": "a"}')
    assert parsed.perception == [] and TASK.verify({"v": 2, "c": 1, "edges": []}, parsed.answer)


def assert_well_formed(parsed: Parsed) -> None:
    assert (parsed.perception is None) == (parsed.perception_error is not None)
    assert (parsed.answer is None) == (parsed.answer_error is not None)
    if parsed.perception is not None:
        assert parsed.perception == sorted(parsed.perception)
        assert all(len(e) == 2 and type(e[0]) is int and e[0] <= e[1] for e in parsed.perception)
        assert len({tuple(e) for e in parsed.perception}) == len(parsed.perception)
    if parsed.answer is not None:
        assert all(type(k) is int and isinstance(c, str) and c for k, c in parsed.answer.items())
    TASK.score_perception(PROBLEM, parsed.perception)
    TASK.verify(PROBLEM, parsed.answer)


FRAGMENTS = ["Perception:", "Reasoning:", "Answer:", "Final answer:", "\n", " ", "[", "]", "{", "}", "(", ")",
             "0", "1", "12", "99999999999", ",", ":", "-", "->", '"', "'", "a", "B", "vertex", "colour",
             "<think>", "</think>", "```", "**", "#", "null", "true", "[[0, 1]]", '{"0": "a"}', "²", "७"]


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parse_never_raises_on_arbitrary_text(text):
    assert_well_formed(TASK.parse(text))


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_parse_never_raises_on_response_shaped_noise(text):
    assert_well_formed(TASK.parse(text))


TRACE_TEXT = TASK.trace(generated(1)[0]).text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(TRACE_TEXT)), st.integers(0, 30), st.sampled_from(FRAGMENTS)),
                max_size=6))
def test_parse_never_raises_on_mangled_traces(edits):
    text = TRACE_TEXT
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut:]
    assert_well_formed(TASK.parse(text))


# -- written solutions ----------------------------------------------------------------------------

def round_trip(problem: dict) -> None:
    trace = TASK.trace(problem)
    assert trace.perception == TASK.perception_text(problem)
    assert trace.prefill == f"Perception:\n{TASK.perception_text(problem)}"
    assert trace.reasoning_span == (trace.perception_span[1], len(trace.text))
    parsed = TASK.parse(trace.text)
    assert parsed.perception == problem["edges"]
    assert TASK.score_perception(problem, parsed.perception)["exact"] == 1.0
    assert TASK.verify(problem, parsed.answer), trace.text
    assert f"The chromatic number is {problem['c']}." in trace.text


def test_traces_round_trip_through_the_parser():
    for problem in generated(300):
        round_trip(problem)


def test_traces_round_trip_on_wider_configs():
    for problem in generated(120, vertices=(1, 14), edges=(0, 60), chromatic=(1, 6)):
        round_trip(problem)


@pytest.mark.parametrize("graph, chi", [
    (nx.mycielski_graph(4), 4),   # triangle-free: the clique bound says 2, proof needed twice over
    (nx.wheel_graph(6), 4),
    (nx.cycle_graph(7), 3),
    (nx.petersen_graph(), 3),
    (nx.complete_graph(6), 6),
    (nx.empty_graph(4), 1),
    (nx.empty_graph(1), 1),
])
def test_traces_of_known_graphs(graph, chi):
    edges = sorted(sorted(e) for e in graph.edges)
    problem = {"v": graph.number_of_nodes(), "c": chi, "edges": edges}
    round_trip(problem)


def test_trace_proves_the_lower_bound_when_the_clique_does_not():
    edges = sorted(sorted(e) for e in nx.wheel_graph(6).edges)
    text = TASK.trace({"v": 6, "c": 4, "edges": edges}).text
    assert "pairwise adjacent, so at least 3 colours" in text
    assert "try 3 colours" in text and "3 colours are not enough" in text and "dead end" in text


def test_trace_states_the_clique_bound_and_checks_every_edge():
    text = TASK.trace(PROBLEM).text
    assert "Vertices 0, 1, 2 are pairwise adjacent, so at least 3 colours are needed." in text
    check = next(line for line in text.splitlines() if line.startswith("Check every edge"))
    assert all(f"{i}-{j} (" in check for i, j in EDGES)
    assert "2: 0, 1, 3" in text  # neighbour list


def test_trace_is_deterministic_and_compact():
    problems = generated(200)
    texts = [TASK.trace(p).text for p in problems]
    assert texts == [TASK.trace(p).text for p in problems]
    assert max(map(len, texts)) < 3000


@pytest.mark.parametrize("c", [2, 4])
def test_trace_refuses_a_wrong_chromatic_number(c):
    with pytest.raises(ValueError, match="c="):
        TASK.trace({**PROBLEM, "c": c})


def test_trace_refuses_a_chromatic_number_the_clique_bound_does_not_catch():
    # C5 has largest clique 2 but χ 3: claiming 2 must be caught by the search, not the clique.
    with pytest.raises(ValueError, match="no colouring with 2 colours"):
        TASK.trace({"v": 5, "c": 2, "edges": [[0, 1], [0, 4], [1, 2], [2, 3], [3, 4]]})

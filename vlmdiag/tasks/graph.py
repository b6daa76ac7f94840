"""Graph colouring: colour every vertex with exactly χ colours so that adjacent vertices differ.

The perception target p* is the edge list, written as the JSON list of [i, j] pairs (i < j, sorted)
that also sits in the ground truth. Answers are a colour letter per vertex.
"""
from __future__ import annotations

import json
import re

import datasets
import numpy as np

from vlmdiag.generators.graph import GraphConfig, chromatic_number, sample_graph
from vlmdiag.parsing import clean, first_json, json_values, last_json, section, strip_thinking
from vlmdiag.tasks.base import ANSWER, PERCEPTION, REASONING, Parsed, Sample, Task, Trace
from vlmdiag.traces.graph import edge_text, graph_trace

_NEXT_LABEL = re.compile(rf"(?im)^[ \t#>*-]*(?:{REASONING}|{ANSWER})\s*:")
# "[0, 1]", "(0, 1)" or "0-1": how models write an edge when they drop the JSON list.
# Vertex numbers are capped at 9 digits here so int() never meets an absurdly long one.
_PAIR = re.compile(r"[\[(]\s*(\d{1,9})\s*,\s*(\d{1,9})\s*[\])]|\b(\d{1,9})\s*-\s*(\d{1,9})\b")
# "0: a", "vertex 0 -> a", "'0': 'A'", "node 3 = b", "0 is colour c"
_ASSIGN = re.compile(
    r"(?i)\b(?:vertex|node|v)?\s*(\d{1,9})\s*[\"']?\s*(?::|=|->|→|\bis\b)\s*(?:colou?r\s*)?[\"']?([a-z])\b")
# "a: 0, 3, 5" or "colour b = vertices 1, 2": colour classes instead of one line per vertex.
_CLASS = re.compile(
    r"(?im)^[^\w\n]*(?:colou?r\s+)?([a-z])\s*[:=]\s*(?:vertices\s*)?[\[{(]?\s*(\d{1,9}(?:\s*,\s*\d{1,9})*)")
_KEY = re.compile(r"(?i)\s*(?:vertex|node|v)?\s*(\d{1,9})\s*")


class GraphTask(Task):
    name = "graph"
    config_cls = GraphConfig
    meta_features = {
        "chromatic": datasets.Value("int32"),
        "num_edges": datasets.Value("int32"),
        "density": datasets.Value("float32"),
        "layout": datasets.Value("string"),
        "crossings": datasets.Value("int32"),
        "style_preset": datasets.Value("string"),
        "style": datasets.Value("string"),
        "image_size": datasets.Value("int32"),
    }
    breakdown_columns = ("chromatic", "num_edges", "layout", "style_preset")

    # -- making instances -------------------------------------------------------------------
    def sample(self, config: GraphConfig, rng: np.random.Generator) -> Sample:
        return sample_graph(config, rng)

    def render(self, sample: Sample, config: GraphConfig, rng: np.random.Generator):
        # Imported here so the rest of the task works without the drawing stack loaded.
        from vlmdiag.renderers.graph import render_graph

        return render_graph(sample.problem["v"], sample.problem["edges"], config, rng)

    def trace(self, problem: dict) -> Trace:
        return graph_trace(problem)

    # -- text forms -------------------------------------------------------------------------
    def perception_text(self, problem: dict) -> str:
        return edge_text(problem["edges"])

    def prompt(self, problem: dict) -> str:
        v = problem["v"]
        return (
            f"The image shows an undirected graph with {v} vertices, labelled 0 to {v - 1}. "
            "Colour the vertices so that every two vertices joined by an edge get different colours, "
            "using as few colours as possible: exactly the chromatic number of the graph.\n"
            f'First, after a line "{PERCEPTION}:", write the edges of the graph as a JSON list of [i, j] '
            "pairs with i < j, for example [[0, 1], [0, 2]].\n"
            f'Then, after a line "{REASONING}:", determine the chromatic number and find a colouring.\n'
            + _answer_instruction(v)
        )

    def counterfactual_prompt(self, problem: dict) -> str:
        v = problem["v"]
        return (
            f"An undirected graph has {v} vertices, labelled 0 to {v - 1}, and these edges, "
            f"as [i, j] pairs: {self.perception_text(problem)}\n"
            "Colour the vertices so that every two vertices joined by an edge get different colours, "
            "using as few colours as possible: exactly the chromatic number of the graph.\n"
            f'After a line "{REASONING}:", determine the chromatic number and find a colouring.\n'
            + _answer_instruction(v)
        )

    # -- reading and scoring responses --------------------------------------------------------
    def parse(self, response: str) -> Parsed:
        text = clean(strip_thinking(str(response)))
        perception, perception_error = _read_perception(text)
        answer, answer_error = _read_answer(text)
        return Parsed(perception=perception, answer=answer,
                      perception_error=perception_error, answer_error=answer_error)

    def verify(self, problem: dict, answer: object) -> bool:
        """Every vertex 0..v-1 (and nothing else) coloured, edges bichromatic, exactly c colours.

        Colours are compared as strings, so the letters are names, not a requirement.
        """
        # type() rather than isinstance: True would pass for vertex 1.
        if not isinstance(answer, dict) or any(type(k) is not int for k in answer):
            return False
        if set(answer) != set(range(problem["v"])) or not all(isinstance(c, str) for c in answer.values()):
            return False
        proper = all(answer[i] != answer[j] for i, j in problem["edges"])
        return proper and len(set(answer.values())) == problem["c"]

    def problem_from_perception(self, perception: list, problem: dict) -> dict | None:
        # parse() already gives sorted, deduplicated [i, j] with i <= j; the prompt states v.
        v = problem["v"]
        if any(i == j or i < 0 or j >= v for i, j in perception):
            return None
        return {"v": v, "c": chromatic_number(v, perception)[0], "edges": perception}

    def score_perception(self, problem: dict, perception: list | None) -> dict[str, float]:
        """Exact edge-set match plus edge precision, recall and F1 (an empty set matches only itself)."""
        if perception is None:
            return {"exact": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
        truth = {tuple(e) for e in problem["edges"]}
        seen = {(min(e), max(e)) for e in perception}
        hits = len(truth & seen)
        precision = hits / len(seen) if seen else float(not truth)
        recall = hits / len(truth) if truth else float(not seen)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"exact": float(seen == truth), "precision": precision, "recall": recall, "f1": f1}


def _answer_instruction(v: int) -> str:
    return (
        f'Finally, after a line "{ANSWER}:", give the colouring as a JSON object mapping each vertex to '
        'a colour letter (a, b, c, ...), for example {"0": "a", "1": "b", ...}, using exactly the '
        f"chromatic number of colours and colouring all {v} vertices."
    )


# -- perception ------------------------------------------------------------------------------------

def _read_perception(text: str) -> tuple[list | None, str | None]:
    """The edge list from the Perception section, else the first list of pairs anywhere."""
    part = section(text, PERCEPTION)
    if part is None:
        found = next((x for x in json_values(text, "[") if _is_edge_list(x)), None)
        if found is None:
            return None, "no Perception section and no list of vertex pairs"
        return _normalise(found), None
    cut = _NEXT_LABEL.search(part)
    edges, error = _edges_in(part[: cut.start()] if cut else part)
    return edges, error and f"Perception section: {error}"


def _edges_in(part: str) -> tuple[list | None, str | None]:
    first = first_json(part, "[")
    if isinstance(first, list) and not _is_pair(first):
        bad = [n for n, x in enumerate(first, 1) if not _is_pair(x)]
        if bad:
            return None, f"item {bad[0]} of the edge list is not a pair of vertex numbers"
        return _normalise(first), None
    found = [(a or c, b or d) for a, b, c, d in _PAIR.findall(part)]
    if not found:
        return None, "no edge list"
    return _normalise(found), None


def _is_int(x: object) -> bool:
    if isinstance(x, str):
        return x.strip().isdecimal() and len(x.strip()) < 10
    return isinstance(x, int) and not isinstance(x, bool)


def _is_pair(x: object) -> bool:
    return isinstance(x, (list, tuple)) and len(x) == 2 and all(_is_int(y) for y in x)


def _is_edge_list(x: object) -> bool:
    return isinstance(x, list) and bool(x) and all(_is_pair(y) for y in x)


def _normalise(pairs: list) -> list[list[int]]:
    """[i, j] with i <= j, deduplicated and sorted, as the ground truth writes edges."""
    edges = {tuple(sorted((int(a), int(b)))) for a, b in pairs}
    return [list(e) for e in sorted(edges)]


# -- answer ----------------------------------------------------------------------------------------

def _read_answer(text: str) -> tuple[dict | None, str | None]:
    """The colouring from the last Answer section, else the last JSON object anywhere."""
    found = [p for p in (section(text, ANSWER), section(text, "Final answer")) if p is not None]
    part = min(found, key=len) if found else None  # the later heading wins
    if part is not None:
        colouring, error = _colouring_in(part)
        return colouring, error and f"Answer section: {error}"
    found = last_json(text, "{")
    if not isinstance(found, dict):
        return None, "no Answer section and no JSON object"
    return _from_mapping(found)


def _colouring_in(part: str) -> tuple[dict | None, str | None]:
    found = next((x for x in json_values(part, "{") if isinstance(x, dict)), None)
    if found is not None:
        return _from_mapping(found)
    listed = first_json(part, "[")
    if isinstance(listed, list) and listed and all(isinstance(x, str) for x in listed):
        return _from_pairs(enumerate(listed))
    assigned = _ASSIGN.findall(part)
    if assigned:
        return _from_pairs(assigned)
    classes = _CLASS.findall(part)
    if classes:
        return _from_pairs((u, c) for c, members in classes for u in members.split(","))
    return None, "no colouring (expected a JSON object like {\"0\": \"a\"})"


def _from_mapping(found: dict) -> tuple[dict | None, str | None]:
    # Models sometimes wrap the colouring: {"colouring": {...}, "chromatic_number": 3}.
    inner = next((x for x in found.values() if isinstance(x, dict)), None)
    return _from_pairs((inner or found).items())


def _from_pairs(items) -> tuple[dict | None, str | None]:
    colouring: dict[int, str] = {}
    for key, value in items:
        vertex = _vertex(key)
        if vertex is None:
            return None, f"{str(key)[:20]!r} is not a vertex number"
        colour = _colour(value)
        if colour is None:
            return None, f"vertex {vertex} has no readable colour ({str(value)[:20]!r})"
        if colouring.setdefault(vertex, colour) != colour:
            return None, f"vertex {vertex} is given two colours"
    if not colouring:
        return None, "the colouring is empty"
    return colouring, None


def _vertex(key: object) -> int | None:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    match = _KEY.fullmatch(key) if isinstance(key, str) else None
    return int(match.group(1)) if match else None


def _colour(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip().lower()
    return None

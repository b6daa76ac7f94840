"""Written solutions of graph-colouring problems, as a careful solver would set them out.

Neighbour lists, a lower bound from a largest clique, a proof that one colour fewer fails when the
clique does not settle it, a colouring built most-constrained-vertex first with every dead end and
backtrack written out, then a check of every edge. The search narrated is the exact solver's own.
"""
from __future__ import annotations

import json

from vlmdiag.generators.graph import adjacency, bits, colour_search, max_clique
from vlmdiag.tasks.base import Trace, write_response


def letter(c: int) -> str:
    return chr(ord("a") + c)


def edge_text(edges: list[list[int]]) -> str:
    """p* as the prompt asks for it and the trace writes it: the JSON list of [i, j] pairs."""
    return json.dumps(edges)


def graph_trace(problem: dict) -> Trace:
    v, c, edges = problem["v"], problem["c"], problem["edges"]
    adj = adjacency(v, edges)
    clique = max_clique(adj)
    lines = [f"The graph has {v} vertices and {len(edges)} edges. Neighbours of each vertex:"]
    lines += [f"{u}: {_join(bits(adj[u])) or 'none'}" for u in range(v)]
    if not edges:
        colouring = [0] * v
        lines.append("There are no edges, so one colour is enough: every vertex gets a.")
    else:
        lines.append(_lower_bound(clique))
        colouring = _attempts(adj, c, clique, lines)
    lines.append(_check(edges, colouring))
    lines.append(f"The chromatic number is {c}.")
    answer = json.dumps({str(u): letter(colouring[u]) for u in range(v)})
    return write_response(edge_text(edges), "\n".join(lines), answer)


def _lower_bound(clique: list[int]) -> str:
    if len(clique) == 2:
        return f"Vertices {clique[0]} and {clique[1]} are adjacent, so at least 2 colours are needed."
    return f"Vertices {_join(clique)} are pairwise adjacent, so at least {len(clique)} colours are needed."


def _attempts(adj: list[int], c: int, clique: list[int], lines: list[str]) -> list[int]:
    """Narrate the failed search with c - 1 colours (if the clique leaves it open), then the success."""
    if len(clique) > c:
        raise ValueError(f"problem says c={c} but the graph has a clique of {len(clique)} vertices")
    if len(clique) < c:
        log: list = []
        if colour_search(adj, c - 1, clique, log) is not None:
            raise ValueError(f"problem says c={c} but {c - 1} colours suffice")
        lines.append(f"The clique does not settle it, so try {c - 1} colours. {_opening(clique)}")
        lines += _narrate(log)
        lines.append(f"Every branch fails, so {c - 1} colours are not enough: at least {c} are needed.")
    log = []
    colouring = colour_search(adj, c, clique, log)
    if colouring is None:
        raise ValueError(f"problem says c={c} but no colouring with {c} colours exists")
    lines.append(f"Colour with {c} colours. {_opening(clique)}")
    lines += _narrate(log)
    return colouring


def _opening(clique: list[int]) -> str:
    names = ", ".join(f"{u} = {letter(n)}" for n, u in enumerate(clique))
    return f"The clique needs distinct colours: {names}. Then always colour the vertex with the fewest colours left:"


def _narrate(log: list) -> list[str]:
    """One line per step of the search; a repeated vertex on the stack is a backtrack to it."""
    out, stack, exhausted = [], [], []
    for event in log:
        kind, u = event[0], event[1]
        if kind == "exhausted":
            stack.pop()
            exhausted.append(u)
            continue
        if exhausted:  # a run of forced retreats reads as one step
            out.append(f"Back through {_join(exhausted)}: no other colour to try there.")
            exhausted = []
        if kind == "dead":
            out.append(f"{u}: neighbours use {_letters(event[2])} -> no colour left, dead end.")
        elif stack and stack[-1] == u:
            out.append(f"Back to {u}: try {letter(event[2])}.")
        else:
            stack.append(u)
            blocked = event[3]
            reason = f"neighbours use {_letters(blocked)}" if blocked else "no coloured neighbour"
            out.append(f"{u}: {reason} -> {letter(event[2])}.")
    if exhausted:
        out.append(f"Back through {_join(exhausted)}: no other colour to try there.")
    return out


def _check(edges: list[list[int]], colouring: list[int]) -> str:
    if not edges:
        return "There are no edges to check."
    pairs = ", ".join(f"{i}-{j} ({letter(colouring[i])}, {letter(colouring[j])})" for i, j in edges)
    return f"Check every edge: {pairs}; the ends always differ."


def _join(items: list[int]) -> str:
    return ", ".join(map(str, items))


def _letters(colours: list[int]) -> str:
    return ", ".join(letter(c) for c in colours)

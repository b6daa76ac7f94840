"""Graph-colouring instances: the config, an exact chromatic number, and the instance sampler.

Graphs are small (at most 20 vertices), so vertex sets are Python ints used as bitmasks: bit u is
vertex u. The exact chromatic number comes from a maximum clique (lower bound) and a DSATUR
backtracking search (upper bounds, then a proof that one colour fewer is impossible).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from vlmdiag.errors import BudgetExceeded, ConfigError
from vlmdiag.tasks.base import Sample, TaskConfig

MAX_VERTICES = 20
LAYOUTS = ("circular", "spring", "random", "any")
STYLES = ("clean", "varied")
# Planted graphs without a forced clique are tried this many times before the last attempt, which
# plants a clique and so cannot miss: generation always ends.
ATTEMPTS = 8


@dataclass(frozen=True)
class GraphConfig(TaskConfig):
    vertices: tuple[int, int] = (7, 10)
    edges: tuple[int, int] = (4, 24)
    density: tuple[float, float] = (0.0, 1.0)
    chromatic: tuple[int, int] = (2, 5)
    image_size: int = 448
    layout: str = "any"
    style: str = "clean"

    def check(self) -> None:
        if self.vertices[0] < 1 or self.vertices[1] > MAX_VERTICES:
            raise ConfigError(f"vertices must lie in 1-{MAX_VERTICES}, got {self.vertices[0]}-{self.vertices[1]}")
        if self.edges[0] < 0:
            raise ConfigError(f"edges must be at least 0, got {self.edges[0]}")
        if self.edges[0] > pairs(self.vertices[1]):
            raise ConfigError(f"edges: {self.edges[0]} edges do not fit on {self.vertices[1]} vertices "
                              f"(at most {pairs(self.vertices[1])})")
        if not 0.0 <= self.density[0] <= self.density[1] <= 1.0:
            raise ConfigError(f"density must lie in 0-1, got {self.density[0]}-{self.density[1]}")
        if self.chromatic[0] < 1:
            raise ConfigError(f"chromatic must be at least 1, got {self.chromatic[0]}")
        if self.image_size < 64:
            raise ConfigError(f"image-size must be at least 64 pixels, got {self.image_size}")
        if self.layout not in LAYOUTS:
            raise ConfigError(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.style not in STYLES:
            raise ConfigError(f"style must be one of {', '.join(STYLES)}, got {self.style!r}")
        for k in range(self.chromatic[0], self.chromatic[1] + 1):
            self._check_reachable(k)

    def _check_reachable(self, k: int) -> None:
        # χ is drawn uniformly from the range, so every value in it must be reachable.
        if k > self.vertices[1]:
            raise ConfigError(f"chromatic number {k} needs at least {k} vertices, but vertices is at most "
                              f"{self.vertices[1]}")
        if k == 1 and self.edges[0] > 0:
            raise ConfigError("chromatic number 1 means no edges, but edges is at least "
                              f"{self.edges[0]}; lower the edges minimum to 0 or raise chromatic")
        if not feasible_sizes(self, k):
            raise ConfigError(
                f"no graph has chromatic number {k} with vertices {_span(self.vertices)}, edges "
                f"{_span(self.edges)} and density {_span(self.density)} (it needs at least {pairs(k)} "
                f"edges and at most those of a complete {k}-partite graph)")


def _span(bounds: tuple) -> str:
    return f"{bounds[0]}-{bounds[1]}"


def pairs(v: int) -> int:
    """C(v, 2): the number of possible edges on v vertices."""
    return v * (v - 1) // 2


def turan(v: int, k: int) -> int:
    """Edges of the complete k-partite graph with balanced parts: the most a k-colourable graph has."""
    q, r = divmod(v, k)
    return pairs(v) - r * pairs(q + 1) - (k - r) * pairs(q)


def edge_bounds(config: GraphConfig, v: int, k: int) -> tuple[int, int]:
    """Smallest and largest edge count of a graph with χ = k on v vertices allowed by the config.

    Exactly the counts in [C(k,2), turán(v,k)] are possible: a k-clique alone has χ = k, and adding
    edges of a complete k-partite graph around it keeps χ = k up to turán(v, k).
    """
    lo, hi = max(config.edges[0], pairs(k)), min(config.edges[1], turan(v, k))
    total = pairs(v)
    if total:
        # Tolerance so that e.g. density 0.3 of 10 pairs admits 3 edges despite float rounding.
        lo = max(lo, math.ceil(config.density[0] * total - 1e-9))
        hi = min(hi, math.floor(config.density[1] * total + 1e-9))
    elif config.density[0] > 0:
        return 1, 0
    return lo, hi


@lru_cache(maxsize=256)
def feasible_sizes(config: GraphConfig, k: int) -> tuple[int, ...]:
    """Vertex counts on which the config admits a graph with χ = k."""
    low = max(config.vertices[0], k)
    return tuple(v for v in range(low, config.vertices[1] + 1) if _nonempty(edge_bounds(config, v, k)))


def _nonempty(bounds: tuple[int, int]) -> bool:
    return bounds[0] <= bounds[1]


# -- exact chromatic number ------------------------------------------------------------------------

def adjacency(v: int, edges: list[list[int]]) -> list[int]:
    """Neighbour bitmask of every vertex."""
    adj = [0] * v
    for i, j in edges:
        if not (0 <= i < v and 0 <= j < v) or i == j:
            raise ValueError(f"edge {[i, j]} is not a pair of distinct vertices in 0..{v - 1}")
        adj[i] |= 1 << j
        adj[j] |= 1 << i
    return adj


def bits(mask: int) -> list[int]:
    """Vertices of a bitmask, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def max_clique(adj: list[int]) -> list[int]:
    """A maximum clique (ascending), by branch and bound over candidate sets."""
    best: list[int] = []

    def expand(chosen: list[int], candidates: int) -> None:
        nonlocal best
        if not candidates:
            if len(chosen) > len(best):
                best = chosen
            return
        while candidates and len(chosen) + candidates.bit_count() > len(best):
            u = candidates.bit_length() - 1
            expand(chosen + [u], candidates & adj[u])
            candidates &= ~(1 << u)

    expand([], (1 << len(adj)) - 1)
    return sorted(best)


def colour_search(adj: list[int], k: int, start: list[int], log: list | None = None) -> list[int] | None:
    """A colouring with at most k colours extending `start` (vertices given colours 0, 1, ...), or None.

    DSATUR order: always the uncoloured vertex with the fewest colours left, ties to the one with
    most uncoloured neighbours, then the lowest label. A colour never used yet is tried only as the
    next fresh one, since fresh colours are interchangeable. With `log`, appends the events a
    written solution narrates: ("set", u, c, blocked), ("dead", u, blocked), ("exhausted", u).
    """
    colour = [-1] * len(adj)
    classes = [0] * k
    for c, u in enumerate(start):
        colour[u] = c
        classes[c] |= 1 << u
    uncoloured = ((1 << len(adj)) - 1) & ~sum(1 << u for u in start)
    found = _extend(adj, k, colour, classes, uncoloured, len(start), log)
    return colour if found else None


def _extend(adj, k, colour, classes, uncoloured, used, log) -> bool:
    if not uncoloured:
        return True
    u, options, blocked = _most_constrained(adj, k, classes, uncoloured, used)
    if not options:
        if log is not None:
            log.append(("dead", u, blocked))
        return False
    bit = 1 << u
    for c in options:
        colour[u] = c
        classes[c] |= bit
        if log is not None:
            log.append(("set", u, c, blocked))
        if _extend(adj, k, colour, classes, uncoloured & ~bit, max(used, c + 1), log):
            return True
        classes[c] &= ~bit
    colour[u] = -1
    if log is not None:
        log.append(("exhausted", u))
    return False


def _most_constrained(adj, k, classes, uncoloured, used) -> tuple[int, list[int], list[int]]:
    """(vertex, colours it may take, colours its neighbours already have)."""
    best_key, best = None, None
    for u in bits(uncoloured):
        near = adj[u]
        blocked = [c for c in range(used) if near & classes[c]]
        options = [c for c in range(used) if not near & classes[c]]
        if used < k:
            options.append(used)
        key = (len(options), -(near & uncoloured).bit_count())
        if best_key is None or key < best_key:
            best_key, best = key, (u, options, blocked)
            if not options:
                break
    return best


def chromatic_number(v: int, edges: list[list[int]]) -> tuple[int, list[int]]:
    """The exact chromatic number and an optimal colouring (colour of each vertex, from 0)."""
    adj = adjacency(v, edges)
    clique = max_clique(adj)
    best = colour_search(adj, max(v, 1), clique)
    k = max(best, default=-1) + 1
    # Each search asks for one colour fewer than the best so far; the first failure proves optimality.
    while k > len(clique):
        better = colour_search(adj, k - 1, clique)
        if better is None:
            break
        best, k = better, max(better) + 1
    return k, best


# -- sampling --------------------------------------------------------------------------------------

def sample_graph(config: GraphConfig, rng: np.random.Generator) -> Sample:
    """A graph whose exact chromatic number is drawn uniformly from config.chromatic.

    The target k comes first, then v uniformly among the vertex counts that admit χ = k, then the
    edge count m uniformly among those allowed. The graph plants a random partition into k colour
    classes and draws m edges uniformly between classes (so χ ≤ k), kept if its exact χ is k. The
    last attempt also plants a k-clique across the classes, which forces χ = k.
    """
    k = int(rng.integers(config.chromatic[0], config.chromatic[1] + 1))
    sizes = feasible_sizes(config, k)
    v = sizes[int(rng.integers(len(sizes)))]
    lo, hi = edge_bounds(config, v, k)
    m = int(rng.integers(lo, hi + 1))
    for attempt in range(ATTEMPTS):
        edges = _planted(v, k, m, rng, with_clique=attempt == ATTEMPTS - 1)
        if edges is not None and chromatic_number(v, edges)[0] == k:
            return _as_sample(v, k, edges)
    raise BudgetExceeded(f"could not build a graph with chromatic number {k}, {v} vertices and {m} edges "
                         f"in {ATTEMPTS} attempts")


def _planted(v: int, k: int, m: int, rng: np.random.Generator, with_clique: bool) -> list[list[int]] | None:
    """m random edges between the classes of a random k-partition, or None if they do not fit.

    Labels come from a random permutation, so no structure is tied to particular vertex numbers.
    """
    order = rng.permutation(v)
    part = np.empty(v, dtype=np.int64)
    if with_clique:
        part[order] = np.arange(v) % k  # balanced, so all turán(v, k) cross pairs exist
    else:
        part[order[:k]] = np.arange(k)  # every class non-empty
        part[order[k:]] = rng.integers(0, k, size=v - k)
    cross = [(i, j) for i in range(v) for j in range(i + 1, v) if part[i] != part[j]]
    forced = []
    if with_clique:
        clique = sorted(int(u) for u in order[:k])
        forced = [(i, j) for n, i in enumerate(clique) for j in clique[n + 1:]]
        taken = set(forced)
        cross = [e for e in cross if e not in taken]
    extra = m - len(forced)
    if extra > len(cross):
        return None
    picked = rng.choice(len(cross), size=extra, replace=False) if extra else []
    return sorted([list(e) for e in forced] + [list(cross[int(n)]) for n in picked])


def _as_sample(v: int, k: int, edges: list[list[int]]) -> Sample:
    total = pairs(v)
    density = round(len(edges) / total, 4) if total else 0.0
    return Sample(problem={"v": v, "c": k, "edges": edges},
                  meta={"chromatic": k, "num_edges": len(edges), "density": density})

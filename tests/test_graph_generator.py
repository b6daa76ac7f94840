"""The graph generator: exact chromatic number (against independent methods), config checks, sampling."""
from __future__ import annotations

import itertools
from collections import Counter

import networkx as nx
import numpy as np
import pytest

import vlmdiag.generators.graph as gen
from vlmdiag.errors import BudgetExceeded, ConfigError
from vlmdiag.generators.graph import GraphConfig, chromatic_number, edge_bounds, feasible_sizes, sample_graph, turan
from vlmdiag.seeding import rng_for


# -- independent exact methods ------------------------------------------------------------------

def chi_by_counting(v: int, edges: list) -> int:
    """χ by inclusion-exclusion: G is k-colourable iff sum_S (-1)^(v-|S|) ind(S)^k > 0, where ind(S)
    counts the independent subsets of S (empty set included). Shares no code with the solver."""
    nbr = [0] * v
    for i, j in edges:
        nbr[i] |= 1 << j
        nbr[j] |= 1 << i
    ind = [1] * (1 << v)
    for s in range(1, 1 << v):
        u = (s & -s).bit_length() - 1
        ind[s] = ind[s & ~(1 << u)] + ind[s & ~(1 << u) & ~nbr[u]]
    for k in range(1, v + 1):
        if sum((-1) ** (v - bin(s).count("1")) * ind[s] ** k for s in range(1 << v)) > 0:
            return k
    return 0


def chi_by_enumeration(v: int, edges: list) -> int:
    """χ by trying every assignment of k colours, for k = 1, 2, ... (vertex 0 fixed to colour 0)."""
    for k in range(1, v + 1):
        for rest in itertools.product(range(k), repeat=v - 1):
            colour = (0, *rest)
            if all(colour[i] != colour[j] for i, j in edges):
                return k
    return 0


def random_graph(rng: np.random.Generator, v: int) -> list[list[int]]:
    pairs = [[i, j] for i in range(v) for j in range(i + 1, v)]
    keep = rng.random(len(pairs)) < rng.random()
    return [p for p, k in zip(pairs, keep, strict=True) if k]


def assert_optimal(v: int, edges: list, chi: int, colouring: list[int]) -> None:
    assert len(colouring) == v
    assert all(colouring[i] != colouring[j] for i, j in edges)
    assert len(set(colouring)) == chi


# -- chromatic number ---------------------------------------------------------------------------

def test_chromatic_number_matches_inclusion_exclusion_on_thousands_of_small_graphs():
    rng = np.random.default_rng(7)
    for _ in range(3000):
        v = int(rng.integers(1, 9))
        edges = random_graph(rng, v)
        chi, colouring = chromatic_number(v, edges)
        assert chi == chi_by_counting(v, edges), (v, edges)
        assert_optimal(v, edges, chi, colouring)


def test_chromatic_number_matches_exhaustive_colouring_on_small_graphs():
    rng = np.random.default_rng(8)
    for _ in range(400):
        v = int(rng.integers(1, 7))
        edges = random_graph(rng, v)
        assert chromatic_number(v, edges)[0] == chi_by_enumeration(v, edges), (v, edges)


def test_chromatic_number_matches_sat_on_larger_graphs():
    from pysat.solvers import Minisat22

    def colourable(v, edges, clique, k):
        var = lambda u, c: u * k + c + 1  # noqa: E731
        with Minisat22() as sat:
            for u in range(v):
                sat.add_clause([var(u, c) for c in range(k)])
            for i, j in edges:
                for c in range(k):
                    sat.add_clause([-var(i, c), -var(j, c)])
            # Fixing a clique's colours removes the colour symmetry that makes UNSAT proofs slow.
            for c, u in enumerate(clique[:k]):
                sat.add_clause([var(u, c)])
            return sat.solve()

    rng = np.random.default_rng(9)
    for _ in range(60):
        v = int(rng.integers(9, 17))
        edges = random_graph(rng, v)
        graph = nx.Graph(edges)
        graph.add_nodes_from(range(v))
        clique = max(nx.find_cliques(graph), key=len)
        chi, colouring = chromatic_number(v, edges)
        assert_optimal(v, edges, chi, colouring)
        assert colourable(v, edges, clique, chi) and not colourable(v, edges, clique, chi - 1)


def as_lists(graph: nx.Graph) -> tuple[int, list]:
    graph = nx.convert_node_labels_to_integers(graph)
    return graph.number_of_nodes(), sorted(sorted(e) for e in graph.edges)


@pytest.mark.parametrize("graph, chi", [
    *[(nx.complete_graph(n), n) for n in range(1, 9)],
    *[(nx.cycle_graph(n), 2 if n % 2 == 0 else 3) for n in range(3, 12)],
    (nx.petersen_graph(), 3),
    (nx.empty_graph(5), 1),
    (nx.wheel_graph(6), 4),           # hub + 5-cycle: largest clique 3, χ 4
    (nx.mycielski_graph(4), 4),       # Grötzsch graph: triangle-free, χ 4
    (nx.complete_bipartite_graph(4, 5), 2),
    (nx.turan_graph(10, 4), 4),
])
def test_chromatic_number_of_known_graphs(graph, chi):
    v, edges = as_lists(graph)
    found, colouring = chromatic_number(v, edges)
    assert found == chi
    assert_optimal(v, edges, chi, colouring)


def test_networkx_greedy_colourings_never_beat_the_exact_number():
    rng = np.random.default_rng(10)
    for _ in range(300):
        v = int(rng.integers(2, 13))
        edges = random_graph(rng, v)
        graph = nx.Graph(edges)
        graph.add_nodes_from(range(v))
        chi = chromatic_number(v, edges)[0]
        for strategy in ("largest_first", "DSATUR", "smallest_last"):
            assert len(set(nx.greedy_color(graph, strategy).values())) >= chi


def test_chromatic_number_rejects_malformed_edges():
    with pytest.raises(ValueError):
        chromatic_number(3, [[0, 3]])
    with pytest.raises(ValueError):
        chromatic_number(3, [[1, 1]])


# -- which (v, m, χ) exist ---------------------------------------------------------------------

def test_edge_bounds_are_exactly_the_edge_counts_of_graphs_with_that_chromatic_number():
    # Every graph on up to 6 vertices: which (v, m, χ) occur.
    seen = set()
    for v in range(1, 7):
        pairs = [[i, j] for i in range(v) for j in range(i + 1, v)]
        for mask in range(1 << len(pairs)):
            edges = [p for n, p in enumerate(pairs) if mask >> n & 1]
            seen.add((v, len(edges), chromatic_number(v, edges)[0]))
    wide = GraphConfig(vertices=(1, 6), edges=(0, 15), chromatic=(1, 1))
    claimed = {(v, m, k) for v in range(1, 7) for k in range(1, v + 1)
               for m in range(edge_bounds(wide, v, k)[0], edge_bounds(wide, v, k)[1] + 1)}
    assert claimed == seen


def test_turan_numbers():
    assert [turan(v, 2) for v in range(1, 8)] == [0, 1, 2, 4, 6, 9, 12]
    assert turan(10, 4) == nx.turan_graph(10, 4).number_of_edges()
    assert turan(5, 5) == 10


# -- config checks -----------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    ({"vertices": (0, 5)}, "vertices"),
    ({"vertices": (5, 21)}, "vertices"),
    ({"vertices": (5, 5), "chromatic": (2, 6)}, "chromatic number 6 needs at least 6 vertices"),
    ({"chromatic": (0, 3)}, "chromatic"),
    ({"chromatic": (1, 3)}, "chromatic number 1 means no edges"),
    ({"vertices": (4, 5), "edges": (11, 20)}, "do not fit"),
    ({"edges": (-1, 5)}, "edges"),
    ({"density": (0.2, 1.5)}, "density"),
    ({"density": (-0.1, 0.5)}, "density"),
    ({"image_size": 32}, "image-size"),
    ({"layout": "grid"}, "layout"),
    ({"style": "fancy"}, "style"),
    ({"chromatic": (5, 5), "edges": (4, 9)}, "no graph has chromatic number 5"),
    ({"chromatic": (2, 2), "vertices": (7, 7), "edges": (13, 20)}, "no graph has chromatic number 2"),
    ({"chromatic": (4, 4), "density": (0.0, 0.1)}, "no graph has chromatic number 4"),
    ({"vertices": (3, 2)}, "minimum 3 is greater than maximum 2"),
])
def test_impossible_configs_are_rejected_with_a_clear_line(options, message):
    with pytest.raises(ConfigError, match=message) as caught:
        GraphConfig(**options)
    assert "\n" not in str(caught.value)


def test_config_reads_command_line_ranges():
    config = GraphConfig.from_options({"vertices": "5-8", "chromatic": "3", "layout": "circular"})
    assert (config.vertices, config.chromatic, config.layout) == ((5, 8), (3, 3), "circular")


def test_a_sampler_that_never_succeeds_stops_with_budget_exceeded(monkeypatch):
    # The sampler's own fallback cannot miss, so simulate a broken one: generation must still end.
    monkeypatch.setattr(gen, "_planted", lambda *args, **kwargs: None)
    with pytest.raises(BudgetExceeded, match="chromatic number"):
        sample_graph(GraphConfig(), rng_for(0, 0))


# -- sampling ----------------------------------------------------------------------------------

def check_sample(config: GraphConfig, sample) -> None:
    p = sample.problem
    v, c, edges = p["v"], p["c"], p["edges"]
    assert set(p) == {"v", "c", "edges"}
    assert config.vertices[0] <= v <= config.vertices[1]
    assert config.edges[0] <= len(edges) <= config.edges[1]
    assert config.chromatic[0] <= c <= config.chromatic[1]
    assert all(type(x) is int and 0 <= x < v for e in edges for x in e)
    assert all(i < j for i, j in edges) and edges == sorted(edges) and len({tuple(e) for e in edges}) == len(edges)
    total = v * (v - 1) // 2
    if total:
        assert config.density[0] - 1e-9 <= len(edges) / total <= config.density[1] + 1e-9
    assert chromatic_number(v, edges)[0] == c
    assert sample.meta == {"chromatic": c, "num_edges": len(edges), "density": sample.meta["density"]}
    assert sample.meta["density"] == pytest.approx(len(edges) / total if total else 0.0, abs=1e-4)


@pytest.mark.parametrize("options", [
    {},
    {"vertices": (4, 12), "edges": (0, 40), "chromatic": (1, 6)},
    {"vertices": (7, 7), "edges": (4, 4), "chromatic": (3, 3)},
    {"vertices": (5, 5), "edges": (10, 10), "chromatic": (5, 5)},
    {"vertices": (8, 10), "density": (0.3, 0.5), "chromatic": (2, 4), "edges": (0, 45)},
    {"vertices": (15, 20), "edges": (20, 60), "chromatic": (3, 6)},
    {"vertices": (1, 3), "edges": (0, 3), "chromatic": (1, 3)},
])
def test_samples_respect_every_range_and_carry_their_exact_chromatic_number(options):
    config = GraphConfig(**options)
    for index in range(150):
        check_sample(config, sample_graph(config, rng_for(3, index)))


def test_chromatic_number_is_balanced_over_the_range():
    config = GraphConfig()
    counts = Counter(sample_graph(config, rng_for(1, i)).problem["c"] for i in range(1200))
    assert set(counts) == {2, 3, 4, 5}
    assert all(240 <= n <= 360 for n in counts.values()), counts


def test_vertex_counts_and_edge_counts_cover_their_ranges():
    config = GraphConfig()
    samples = [sample_graph(config, rng_for(2, i)).problem for i in range(600)]
    assert {p["v"] for p in samples} == {7, 8, 9, 10}
    assert min(len(p["edges"]) for p in samples) <= 6 and max(len(p["edges"]) for p in samples) >= 22


def test_labels_carry_no_structure():
    # Over many graphs each vertex label is about equally likely to have any degree.
    config = GraphConfig(vertices=(8, 8))
    degree = np.zeros(8)
    for i in range(800):
        for e in sample_graph(config, rng_for(4, i)).problem["edges"]:
            degree[e] += 1
    assert degree.max() / degree.min() < 1.15


def test_sampling_is_a_pure_function_of_the_rng():
    config = GraphConfig()
    first = [sample_graph(config, rng_for(5, i)) for i in range(50)]
    again = [sample_graph(config, rng_for(5, i)) for i in range(50)]
    assert first == again
    other = [sample_graph(config, rng_for(6, i)) for i in range(50)]
    assert sum(a.problem == b.problem for a, b in zip(first, other, strict=True)) < 3


def test_feasible_sizes_skip_vertex_counts_that_cannot_host_the_chromatic_number():
    config = GraphConfig(vertices=(4, 10), edges=(0, 6), chromatic=(4, 4))
    assert feasible_sizes(config, 4) == tuple(range(4, 11))
    dense = GraphConfig(vertices=(4, 10), density=(0.9, 1.0), edges=(0, 45), chromatic=(4, 4))
    assert feasible_sizes(dense, 4) == (4, 5)  # K4, and K5 minus an edge (9 of 10 pairs)

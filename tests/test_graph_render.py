"""The graph renderer: geometry helpers, legible layouts, exact colours, labels, styles, determinism."""
from __future__ import annotations

import io
import itertools
import json
import math
from dataclasses import dataclass, fields, replace
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from vlmdiag.errors import ConfigError
from vlmdiag.renderers import encode_png, geometry, layout, raster
from vlmdiag.renderers import graph as G
from vlmdiag.renderers.sheet import PAD, THUMB, contact_sheet
from vlmdiag.renderers.style import (
    CLEAN_PALETTE, MIN_LINE_CONTRAST, MIN_TEXT_CONTRAST, contrast_ratio, random_palette, rgb,
)
from vlmdiag.seeding import rng_for


@dataclass(frozen=True)
class Config:
    """The renderer reads only these three fields of the task config."""

    image_size: int = 448
    layout: str = "any"
    style: str = "clean"


def complete(v: int) -> list[list[int]]:
    return [[i, j] for i, j in itertools.combinations(range(v), 2)]


def random_graph(rng: np.random.Generator, v: int, m: int) -> list[list[int]]:
    pairs = complete(v)
    return sorted(pairs[k] for k in rng.choice(len(pairs), size=min(m, len(pairs)), replace=False))


# -- geometry helpers --------------------------------------------------------------------------

def test_segment_point_distance_inside_beyond_ends_and_degenerate():
    a, b = np.array([0.0, 0.0]), np.array([4.0, 0.0])
    assert geometry.segment_point_distance(a, b, [2.0, 3.0]) == pytest.approx(3.0)
    assert geometry.segment_point_distance(a, b, [7.0, 4.0]) == pytest.approx(5.0)  # nearest is the end b
    assert geometry.segment_point_distance(a, b, [-3.0, -4.0]) == pytest.approx(5.0)
    assert geometry.segment_point_distance(a, a, [3.0, 4.0]) == pytest.approx(5.0)


def test_segment_point_distance_matches_dense_sampling_of_the_segment():
    rng = np.random.default_rng(0)
    a, b, p = (rng.uniform(-10, 10, size=(100, 2)) for _ in range(3))
    t = np.linspace(0.0, 1.0, 10001)
    samples = a[:, None, :] + t[None, :, None] * (b - a)[:, None, :]
    brute = np.linalg.norm(samples - p[:, None, :], axis=-1).min(axis=1)
    got = geometry.segment_point_distance(a, b, p)
    assert got.shape == (100,)
    assert np.all(got <= brute + 1e-9) and np.allclose(got, brute, atol=4e-3)


def test_segments_cross_only_at_interior_points():
    o, x, y, xy = (np.array(p, dtype=float) for p in ([0, 0], [2, 0], [0, 2], [2, 2]))
    assert geometry.segments_cross(o, xy, x, y)  # an X
    assert not geometry.segments_cross(o, x, y, xy)  # parallel
    assert not geometry.segments_cross(o, xy, np.array([1.0, 1.0]), x)  # touching at an end
    assert not geometry.segments_cross(o, x, np.array([3.0, -1.0]), np.array([3.0, 1.0]))  # would cross if longer


def _exact_crossings(points: np.ndarray, edges: list[list[int]]) -> int:
    """Independent count: solve each pair's intersection parameters in exact rationals."""
    p = [(Fraction(float(x)), Fraction(float(y))) for x, y in points]
    count = 0
    for (a, b), (c, d) in itertools.combinations(edges, 2):
        if {a, b} & {c, d}:
            continue
        (x1, y1), (x2, y2), (x3, y3), (x4, y4) = p[a], p[b], p[c], p[d]
        det = (x2 - x1) * (y4 - y3) - (y2 - y1) * (x4 - x3)
        if det == 0:
            continue
        t = ((x3 - x1) * (y4 - y3) - (y3 - y1) * (x4 - x3)) / det
        u = ((x3 - x1) * (y2 - y1) - (y3 - y1) * (x2 - x1)) / det
        count += 0 < t < 1 and 0 < u < 1
    return count


def test_count_crossings_matches_exact_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(150):
        v = int(rng.integers(4, 11))
        points = rng.uniform(0, 448, size=(v, 2))
        edges = random_graph(rng, v, int(rng.integers(0, 25)))
        assert geometry.count_crossings(points, edges) == _exact_crossings(points, edges)


def test_edge_vertex_clearance_ignores_the_edges_own_ends():
    points = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 3.0], [5.0, -8.0]])
    assert geometry.edge_vertex_clearance(points, [[0, 1]]) == pytest.approx(3.0)
    assert geometry.edge_vertex_clearance(points, [[0, 2]]) == pytest.approx(min(
        geometry.segment_point_distance(points[0], points[2], points[k]) for k in (1, 3)))
    assert geometry.edge_vertex_clearance(points, []) == math.inf


def test_boxes_overlap_and_min_vertex_gap():
    assert geometry.boxes_overlap([[0, 0, 2, 2], [1, 1, 3, 3]])
    assert not geometry.boxes_overlap([[0, 0, 2, 2], [2, 0, 4, 2]])  # sharing a side is not overlapping
    assert not geometry.boxes_overlap([[0, 0, 1, 1], [5, 5, 6, 6], [0, 3, 1, 4]])
    assert geometry.min_vertex_gap(np.array([[0, 0], [3, 4], [10, 0]])) == pytest.approx(5.0)
    assert geometry.min_vertex_gap(np.zeros((1, 2))) == math.inf


# -- layouts -----------------------------------------------------------------------------------

def assert_legible(plan: G.Drawing) -> None:
    """Checked from first principles, not through the renderer's own `legible`."""
    r, size, lw = plan.style.radius, plan.size, plan.style.line_width
    points = plan.points
    assert np.all(points >= r) and np.all(points <= size - r), "a vertex leaves the image"
    if len(points) > 1:
        assert geometry.min_vertex_gap(points) >= 2 * r + 1, "vertex discs touch"
    # An edge line must keep clear of every vertex disc it does not end at.
    assert geometry.edge_vertex_clearance(points, plan.edges) > r + lw / 2 + 1, "an edge grazes a vertex"
    boxes = G.label_boxes(points, plan.style)
    assert not geometry.boxes_overlap(boxes), "labels collide"
    corners = np.stack([boxes[:, [0, 1]], boxes[:, [2, 3]], boxes[:, [0, 3]], boxes[:, [2, 1]]], axis=1)
    inner = r - plan.style.outline_width
    assert np.all(np.linalg.norm(corners - points[:, None, :], axis=-1) <= inner + 1), "a label leaves its disc"


@pytest.mark.parametrize("kind", ["circular", "spring", "random", "any"])
@pytest.mark.parametrize("preset", ["clean", "varied"])
def test_layouts_are_legible_on_hundreds_of_graphs_up_to_complete(kind, preset):
    rng = np.random.default_rng(2)
    for seed in range(60):
        v = int(rng.integers(1, 11))
        edges = complete(v) if seed % 4 == 0 else random_graph(rng, v, int(rng.integers(0, 25)))
        plan = G.plan_drawing(v, edges, Config(layout=kind, style=preset), rng_for(seed, 0))
        assert kind in ("any", plan.layout) or plan.layout == "circular"
        assert_legible(plan)


def test_spring_and_random_layouts_rarely_need_the_fallback():
    rng = np.random.default_rng(3)
    for kind in ("spring", "random"):
        used = [G.plan_drawing(10, random_graph(rng, 10, 24), Config(layout=kind), rng_for(s, 0)).layout
                for s in range(30)]
        assert used.count(kind) >= 27


def test_failed_layouts_fall_back_to_a_legible_circle(monkeypatch):
    monkeypatch.setattr(layout, "untangle", lambda *args: False)
    plan = G.plan_drawing(10, complete(10), Config(layout="spring"), rng_for(0, 0))
    assert plan.layout == "circular"
    assert_legible(plan)


@pytest.mark.parametrize("size,most", [(200, 10), (448, 20), (1024, 20)])
def test_circle_radius_cap_makes_every_circle_legible(size, most):
    rng = np.random.default_rng(size)
    for v in range(2, most + 1):
        for edges in (complete(v), random_graph(rng, v, v)):
            edges = np.array(edges).reshape(-1, 2)
            style = G.fit_labels(G.pick_style("varied", size, rng_for(v, size)), v, size)
            style = G.shrink_for_circle(style, v, edges, size)
            points = layout.circular(v, size, G.border(size) + style.radius, rng_for(v, 1))
            assert_legible(G.Drawing("circular", points, edges, style, size))


def test_sparse_graphs_keep_larger_vertices_on_a_circle():
    v, lw = 20, 2.0
    matching = np.array([[i, i + v // 2] for i in range(v // 2)])  # diameters: far from every vertex
    worst = G.circle_radius_cap(v, np.array(complete(v)), 448, lw)
    assert G.circle_radius_cap(v, matching, 448, lw) > 2 * worst
    assert G.circle_radius_cap(v, np.zeros((0, 2), dtype=int), 448, lw) >= G.circle_radius_cap(v, matching, 448, lw)
    # The worst case is the closed form: an edge skipping one vertex passes 2R·sin²(π/v) from it.
    reach, s = 448 / 2 - G.border(448), math.sin(math.pi / v)
    closed = (2 * reach * s * s - lw / 2) / (1 + G.CLEARANCE + 2 * s * s)
    assert worst == pytest.approx(closed, abs=0.011)


def test_any_layout_uses_all_three():
    used = {G.plan_drawing(8, complete(4), Config(layout="any"), rng_for(s, 0)).layout for s in range(30)}
    assert used == {"circular", "spring", "random"}


def test_too_small_an_image_is_a_config_error():
    with pytest.raises(ConfigError, match="image-size"):
        G.render_graph(20, complete(20), Config(image_size=64), rng_for(0, 0))


@pytest.mark.parametrize("field,value", [("layout", "grid"), ("style", "fancy")])
def test_unknown_layout_or_style_is_a_config_error(field, value):
    with pytest.raises(ConfigError, match=value):
        G.render_graph(5, complete(5), Config(**{field: value}), rng_for(0, 0))


# -- the image -----------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [448, 300])
def test_image_is_a_square_palette_image_that_converts_to_rgb(size):
    image, meta = G.render_graph(9, complete(5), Config(image_size=size), rng_for(0, 0))
    assert image.mode == "P" and image.size == (size, size)
    assert np.asarray(image.convert("RGB")).shape == (size, size, 3)
    assert meta["image_size"] == size


@pytest.mark.parametrize("seed", range(4))
def test_colours_are_exact_away_from_borders_and_blended_across_them(seed):
    plan = G.plan_drawing(7, complete(7)[::3], Config(style="varied"), rng_for(seed, 0))
    style, points = plan.style, plan.points
    image = G.draw(points, plan.edges, style, plan.size)
    pixels = np.asarray(image.convert("RGB"))
    ys, xs = np.mgrid[0:plan.size, 0:plan.size]
    centres = np.stack([xs + 0.5, ys + 0.5], axis=-1).reshape(-1, 1, 2)
    to_vertex = np.linalg.norm(centres - points[None], axis=-1).min(axis=1).reshape(plan.size, plan.size)
    to_edge = geometry.segment_point_distance(points[plan.edges[:, 0]][None], points[plan.edges[:, 1]][None],
                                              centres).min(axis=1).reshape(plan.size, plan.size)
    in_label = np.zeros((plan.size, plan.size), dtype=bool)
    for x0, y0, x1, y1 in G.label_boxes(points, style).astype(int):
        in_label[y0:y1, x0:x1] = True
    r, inner, half = style.radius, style.radius - style.outline_width, style.line_width / 2
    on_edge = (to_vertex >= r + 0.5) & (to_edge <= half - 0.5)
    in_ring = (to_vertex >= inner + 0.5) & (to_vertex <= r - 0.5)
    regions = [
        (style.background, (to_vertex >= r + 0.5) & (to_edge >= half + 0.5)),
        (style.line, on_edge | in_ring),  # empty when both are 1 px wide: then nothing is fully covered
        (style.fill, (to_vertex <= inner - 0.5) & ~in_label),
    ]
    for colour, where in regions:
        assert where.sum() > 0 or colour == style.line
        assert np.all(pixels[where] == rgb(colour)), colour
    # Between the pure colours there must be blends: anti-aliasing.
    assert len(np.unique(np.asarray(image))) > 20


def test_labels_are_drawn_in_their_own_disc():
    plan = G.plan_drawing(10, complete(10)[:12], Config(layout="random"), rng_for(5, 0))
    labelled = np.asarray(G.draw(plan.points, plan.edges, plan.style, plan.size).convert("RGB")).astype(int)
    hidden = replace(plan.style, text=plan.style.fill)
    blank = np.asarray(G.draw(plan.points, plan.edges, hidden, plan.size).convert("RGB")).astype(int)
    differs = np.abs(labelled - blank).sum(axis=-1) > 0
    outside = differs.copy()
    for i, (x0, y0, x1, y1) in enumerate(G.label_boxes(plan.points, plan.style).astype(int)):
        mask = raster.glyph_mask(plan.style.font, plan.style.font_size, str(i))
        changed = differs[y0:y1, x0:x1]
        # The glyph of label i, and only it, is where label i should be.
        assert np.all(changed[mask >= 128]) and not np.any(changed[mask == 0])
        outside[y0:y1, x0:x1] = False
    assert not outside.any()


def test_same_rng_same_bytes_and_other_seeds_differ():
    edges = complete(7)[::2]
    for preset in ("clean", "varied"):
        config = Config(style=preset)
        first = G.render_graph(7, edges, config, rng_for(11, 3))
        again = G.render_graph(7, edges, config, rng_for(11, 3))
        other = G.render_graph(7, edges, config, rng_for(11, 4))
        assert encode_png(first[0]) == encode_png(again[0]) and first[1] == again[1]
        assert encode_png(first[0]) != encode_png(other[0])


# -- metadata and styles --------------------------------------------------------------------------

def test_metadata_has_the_fixed_keys_and_true_crossings():
    rng = np.random.default_rng(6)
    for seed in range(20):
        edges = random_graph(rng, 9, 20)
        config = Config(style="varied")
        plan = G.plan_drawing(9, edges, config, rng_for(seed, 0))
        _, meta = G.render_graph(9, edges, config, rng_for(seed, 0))
        assert set(meta) == {"layout", "crossings", "style_preset", "style", "image_size"}
        assert meta["layout"] == plan.layout and meta["style_preset"] == "varied"
        assert meta["crossings"] == _exact_crossings(plan.points, edges)
        style = json.loads(meta["style"])
        assert list(style) == sorted(style) and set(style) == {f.name for f in fields(G.GraphStyle)}
        assert G.GraphStyle(**style) == plan.style


def test_clean_preset_is_fixed_and_varied_preset_varies():
    def styles(preset):
        return {G.render_graph(8, complete(8)[:10], Config(style=preset), rng_for(s, 0))[1]["style"] for s in range(12)}

    assert len(styles("clean")) == 1
    clean = json.loads(styles("clean").pop())
    assert (clean["background"], clean["line"]) == ("#ffffff", "#000000")
    assert len(styles("varied")) == 12


def test_varied_palettes_keep_lines_and_labels_readable():
    rng = np.random.default_rng(7)
    for _ in range(300):
        palette = random_palette(rng)
        assert palette != CLEAN_PALETTE  # the fallback exists for termination, not as a common outcome
        assert contrast_ratio(palette.line, palette.background) >= MIN_LINE_CONTRAST
        assert contrast_ratio(palette.text, palette.fill) >= MIN_TEXT_CONTRAST


# -- encoding and contact sheets ----------------------------------------------------------------------

def test_encode_png_is_lossless_for_palette_and_rgb_images():
    image, _ = G.render_graph(8, complete(8), Config(style="varied"), rng_for(0, 0))
    for original in (image, image.convert("RGB")):
        decoded = Image.open(io.BytesIO(encode_png(original)))
        assert decoded.mode == original.mode
        assert np.array_equal(np.asarray(decoded.convert("RGB")), np.asarray(original.convert("RGB")))


def test_contact_sheet_grid_dimensions():
    images = [Image.new("P", (448, 448)), Image.new("RGB", (300, 150))] * 3 + [Image.new("L", (100, 100))]
    captions = [f"#{i} layout=spring " * (i + 1) for i in range(7)]
    sheet = contact_sheet(images, captions)
    assert sheet.mode == "RGB" and sheet.width == PAD + 3 * (THUMB + PAD)  # ceil(sqrt(7)) columns
    three_rows_one_line = PAD + 3 * (THUMB + PAD + 16)
    assert three_rows_one_line < sheet.height <= PAD + 3 * (THUMB + PAD + 3 * 16)
    assert contact_sheet(images, captions, columns=7).size[0] == PAD + 7 * (THUMB + PAD)
    with pytest.raises(ValueError):
        contact_sheet(images, captions[:-1])

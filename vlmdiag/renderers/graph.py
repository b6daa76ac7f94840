"""Draw a graph: labelled circles joined by straight lines, in a seeded layout and style.

A layout is kept only if it is legible — vertices well apart, labels apart, no edge passing through
or grazing a vertex it does not join. Spring and random layouts are first nudged towards that
(``layout.untangle``); one that still fails is drawn again (a bounded number of times), then the
drawing falls back to a circle, which is made valid by construction: the vertex radius is capped
so that even the edge passing nearest a vertex clears it.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace

import numpy as np
from PIL import Image

from vlmdiag.errors import ConfigError
from vlmdiag.renderers import geometry, layout, raster
from vlmdiag.renderers.style import pick_font, pick_palette

# Lengths are designed at 448 px and scale with the image.
REFERENCE_SIZE = 448
BORDER = 9.0  # between the outermost vertex and the image edge
GAP = 1.0  # least empty space between two vertex discs, in vertex radii
CLEARANCE = 0.3  # least space between an edge and a vertex it does not join, in vertex radii
LABEL_PAD = 0.5  # px between a label's ink and the inside of its disc's outline
MIN_FONT_PX = 6
LAYOUT_ATTEMPTS = 20
UNTANGLE_ROUNDS = 100
# The chain of colours every pixel lies on, in drawing order (see raster).
BACKGROUND, LINE, FILL, TEXT = (float(x) for x in raster.chain_levels(4))


@dataclass(frozen=True)
class GraphStyle:
    """Everything needed to redraw an image given its layout; recorded as JSON in the metadata."""

    background: str
    line: str  # edges and vertex outlines
    fill: str
    text: str
    font: str
    font_size: int
    radius: float  # vertex disc, outline included
    outline_width: float
    line_width: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def render_graph(v: int, edges: list[list[int]], config, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Draw the graph at ``config.image_size`` px in ``config.layout`` and ``config.style``.

    Returns a palette ("P") image — its colours are exact, ``.convert("RGB")`` gives the RGB pixels —
    and metadata: layout actually used, number of edge crossings, style preset and concrete style.
    """
    plan = plan_drawing(v, edges, config, rng)
    meta = {
        "layout": plan.layout,
        "crossings": geometry.count_crossings(plan.points, plan.edges),
        "style_preset": config.style,
        "style": plan.style.to_json(),
        "image_size": plan.size,
    }
    return draw(plan.points, plan.edges, plan.style, plan.size), meta


@dataclass(frozen=True)
class Drawing:
    """What to draw: vertex centres in pixels, edges as an (m, 2) array, the concrete style."""

    layout: str
    points: np.ndarray
    edges: np.ndarray
    style: GraphStyle
    size: int


def plan_drawing(v: int, edges: list[list[int]], config, rng: np.random.Generator) -> Drawing:
    """Style first, then a legible layout, all drawn from ``rng``."""
    size = int(config.image_size)
    edge_array = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    style = fit_labels(pick_style(config.style, size, rng), v, size)
    kind, points, style = place(v, edge_array, config.layout, style, size, rng)
    return Drawing(layout=kind, points=points, edges=edge_array, style=style, size=size)


# -- style ---------------------------------------------------------------------------------------

def pick_style(preset: str, size: int, rng: np.random.Generator) -> GraphStyle:
    """The preset's colours, font and sizes; the font size is a wish that ``fit_labels`` may shrink."""
    palette, font = pick_palette(preset, rng), pick_font(preset, rng)
    if preset == "clean":
        radius, outline, line, font_scale = 20.0, 2.0, 2.0, 0.9
    else:
        radius, outline = rng.uniform(15.0, 25.0), rng.uniform(1.0, 3.0)
        line, font_scale = rng.uniform(1.0, 3.5), rng.uniform(0.7, 1.0)
    scale = size / REFERENCE_SIZE
    # Rounded so the recorded JSON redraws the very same pixels; an outline under 1 px would let a
    # pixel straddle both borders of the ring, which the colour chain cannot represent.
    radius, outline, line = (round(x * scale, 2) for x in (radius, outline, line))
    return GraphStyle(**asdict(palette), font=font, font_size=max(MIN_FONT_PX, round(font_scale * radius)),
                      radius=radius, outline_width=max(1.0, outline), line_width=max(1.0, line))


def fit_labels(style: GraphStyle, v: int, size: int) -> GraphStyle:
    """Shrink the font until every label 0..v-1 fits inside its disc."""
    room = style.radius - style.outline_width - LABEL_PAD
    for font_size in range(style.font_size, MIN_FONT_PX - 1, -1):
        shapes = [raster.glyph_mask(style.font, font_size, str(i)).shape for i in range(v)]
        if all(math.hypot(h / 2, w / 2) <= room for h, w in shapes):
            return replace(style, font_size=font_size)
    raise ConfigError(f"image-size {size} is too small to label {v} vertices legibly; use a larger image-size")


def circle_radius_cap(v: int, edges: np.ndarray, size: int, line_width: float) -> float:
    """Largest vertex radius for which the circular layout of this graph passes every check.

    On a circle of radius R every distance in the drawing is R times its value on the unit circle:
    neighbours are R·2sin(π/v) apart, and edges pass some R·c from the vertices they do not join
    (c is 2sin²(π/v) at worst, for an edge skipping one vertex; sparse graphs often do better).
    R shrinks as the vertex radius r grows (R = size/2 - border - r): each check bounds r linearly.
    """
    if v < 2:
        return math.inf
    unit = layout.on_circle(v, 0.0)
    gap, clear = geometry.min_vertex_gap(unit), geometry.edge_vertex_clearance(unit, edges)
    reach = size / 2 - border(size)
    by_gap = reach * gap / (2 + GAP + gap)
    by_edges = (reach * clear - line_width / 2) / (1 + CLEARANCE + clear) if math.isfinite(clear) else math.inf
    return math.floor(min(by_gap, by_edges) * 100) / 100


# -- layout --------------------------------------------------------------------------------------

def place(v: int, edges: np.ndarray, wanted: str, style: GraphStyle, size: int,
          rng: np.random.Generator) -> tuple[str, np.ndarray, GraphStyle]:
    """Vertex centres for the wanted layout ("any" picks one), or the circular fallback."""
    if wanted == "any":
        wanted = layout.LAYOUTS[int(rng.integers(len(layout.LAYOUTS)))]
    if wanted not in layout.LAYOUTS:
        raise ConfigError(f"unknown layout {wanted!r} (choose from: {', '.join(layout.LAYOUTS + ('any',))})")
    inset = border(size) + style.radius
    if wanted != "circular":
        r, slack = style.radius, 0.5  # aim a little past the thresholds so float noise cannot fail them
        gap, clearance = (2 + GAP) * r + slack, (1 + CLEARANCE) * r + style.line_width / 2 + slack
        for _ in range(LAYOUT_ATTEMPTS):
            if wanted == "spring":
                points = layout.spring(v, edges, size, inset, rng)
            else:
                points = layout.random_spread(v, size, inset, gap, rng)
            if points is None:
                continue
            if layout.untangle(points, edges, gap, clearance, inset, size - inset, UNTANGLE_ROUNDS) \
                    and legible(points, edges, style):
                return wanted, points, style
    style = shrink_for_circle(style, v, edges, size)
    points = layout.circular(v, size, border(size) + style.radius, rng)
    if not legible(points, edges, style):
        raise RuntimeError(f"bug: the circular layout of {v} vertices failed its own checks")
    return "circular", points, style


def shrink_for_circle(style: GraphStyle, v: int, edges: np.ndarray, size: int) -> GraphStyle:
    """The style with vertices (outline and font in proportion) small enough for a valid circle."""
    cap = circle_radius_cap(v, edges, size, style.line_width)
    if style.radius <= cap:
        return style
    shrink = cap / style.radius
    smaller = replace(style, radius=cap, outline_width=max(1.0, round(style.outline_width * shrink, 2)),
                      font_size=max(MIN_FONT_PX, round(style.font_size * shrink)))
    return fit_labels(smaller, v, size)


def border(size: int) -> float:
    return BORDER * size / REFERENCE_SIZE


def legible(points: np.ndarray, edges: np.ndarray, style: GraphStyle) -> bool:
    """Vertices apart, labels apart, and every edge clear of the vertices it does not join."""
    r = style.radius
    return (geometry.min_vertex_gap(points) >= (2 + GAP) * r
            and geometry.edge_vertex_clearance(points, edges) >= r * (1 + CLEARANCE) + style.line_width / 2
            and not geometry.boxes_overlap(label_boxes(points, style)))


def label_boxes(points: np.ndarray, style: GraphStyle) -> np.ndarray:
    """(x0, y0, x1, y1) of each label's ink as drawn: centred on its vertex, snapped to whole pixels."""
    boxes = np.empty((len(points), 4))
    for i, (x, y) in enumerate(points):
        h, w = raster.glyph_mask(style.font, style.font_size, str(i)).shape
        left, top = _snap(x - w / 2), _snap(y - h / 2)
        boxes[i] = left, top, left + w, top + h
    return boxes


def _snap(x: float) -> int:
    return math.floor(x + 0.5)


# -- drawing -------------------------------------------------------------------------------------

def draw(points: np.ndarray, edges: np.ndarray, style: GraphStyle, size: int) -> Image.Image:
    """Edges, then discs over their ends, then labels."""
    canvas = np.full((size, size), BACKGROUND, dtype=np.uint8)
    raster.draw_segments(canvas, points[edges[:, 0]], points[edges[:, 1]], style.line_width, LINE)
    raster.draw_discs(canvas, points, style.radius, style.outline_width, LINE, FILL)
    for i, (left, top, _, _) in enumerate(label_boxes(points, style)):
        raster.stamp(canvas, raster.glyph_mask(style.font, style.font_size, str(i)), int(top), int(left), TEXT)
    return raster.to_image(canvas, (style.background, style.line, style.fill, style.text))

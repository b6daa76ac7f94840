"""Plane geometry for checking drawings: distances, segment crossings, box overlaps.

Pure numpy functions on float arrays; points are (..., 2) arrays and broadcast against each other.
"""
from __future__ import annotations

import numpy as np


def segment_point_distance(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Distance from point(s) p to the closed segment(s) a-b (a point if a == b)."""
    a, b, p = (np.asarray(x, dtype=float) for x in (a, b, p))
    ab, ap = b - a, p - a
    length2 = np.sum(ab * ab, axis=-1)
    # Projection parameter of p on the line, clamped onto the segment; 0 for degenerate segments.
    t = np.clip(np.sum(ap * ab, axis=-1) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    closest = a + t[..., None] * ab
    return np.linalg.norm(p - closest, axis=-1)


def pairwise_distances(points: np.ndarray) -> np.ndarray:
    """(n, n) Euclidean distances between the rows of an (n, 2) array."""
    points = np.asarray(points, dtype=float)
    return np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)


def min_vertex_gap(points: np.ndarray) -> float:
    """Smallest distance between two distinct points (inf for fewer than two)."""
    d = pairwise_distances(points)
    np.fill_diagonal(d, np.inf)
    return float(d.min()) if d.size else float("inf")


def orientation(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Twice the signed area of triangle abc: > 0 counter-clockwise, 0 collinear."""
    return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0])


def segments_cross(p1: np.ndarray, p2: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Whether segments p1-p2 and q1-q2 cross at a single interior point of both.

    Touching at an end or overlapping collinearly does not count: in a drawing that passes the
    edge-vertex clearance check neither can happen between edges that share no vertex.
    """
    p1, p2, q1, q2 = (np.asarray(x, dtype=float) for x in (p1, p2, q1, q2))
    d1, d2 = orientation(q1, q2, p1), orientation(q1, q2, p2)
    d3, d4 = orientation(p1, p2, q1), orientation(p1, p2, q2)
    return (d1 * d2 < 0) & (d3 * d4 < 0)


def count_crossings(points: np.ndarray, edges: np.ndarray) -> int:
    """Number of pairs of edges, sharing no vertex, whose straight segments cross."""
    points, edges = np.asarray(points, dtype=float), np.asarray(edges, dtype=int).reshape(-1, 2)
    # All ordered pairs at once (graphs are small): each unordered pair is counted twice.
    e, f = edges[:, None, :], edges[None, :, :]
    disjoint = (e[..., :1] != f).all(axis=-1) & (e[..., 1:] != f).all(axis=-1)
    ends = points[edges]
    a, b = ends[:, None, 0], ends[:, None, 1]
    c, d = ends[None, :, 0], ends[None, :, 1]
    return int((segments_cross(a, b, c, d) & disjoint).sum()) // 2


def edge_vertex_clearance(points: np.ndarray, edges: np.ndarray) -> float:
    """Smallest distance from an edge's segment to a vertex it does not join (inf if none)."""
    points, edges = np.asarray(points, dtype=float), np.asarray(edges, dtype=int).reshape(-1, 2)
    if len(edges) == 0 or len(points) < 3:
        return float("inf")
    d = segment_point_distance(points[edges[:, :1], :], points[edges[:, 1:], :], points[None, :, :])
    d[np.arange(len(edges))[:, None], edges] = np.inf
    return float(d.min())


def boxes_overlap(boxes: np.ndarray) -> bool:
    """Whether any two (x0, y0, x1, y1) boxes share interior area."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    a, b = boxes[:, None, :], boxes[None, :, :]
    apart = (a[..., 2] <= b[..., 0]) | (b[..., 2] <= a[..., 0]) | (a[..., 3] <= b[..., 1]) | (b[..., 3] <= a[..., 1])
    np.fill_diagonal(apart, True)  # a box is not compared with itself
    return not apart.all()

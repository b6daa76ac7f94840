"""Where to put a graph's vertices: on a circle, by a force-directed spring model, or at random.

Every layout returns pixel centres inside the square ``[inset, size - inset]``, drawn only from the
generator it is handed. Checking that a layout is legible is the caller's job.
"""
from __future__ import annotations

import math

import numba
import numpy as np

LAYOUTS = ("circular", "spring", "random")
SPRING_ITERATIONS = 80
# Candidates drawn at once per vertex by the random layout; the first far enough from the others wins.
RANDOM_CANDIDATES = 64


def circular(v: int, size: int, inset: float, rng: np.random.Generator) -> np.ndarray:
    """Vertices in label order on the largest circle that fits, turned by a random angle."""
    return size / 2 + (size / 2 - inset) * on_circle(v, rng.uniform(0.0, 2 * math.pi))


def on_circle(v: int, turn: float) -> np.ndarray:
    """v points evenly spaced on the unit circle, the first at angle ``turn``."""
    angles = turn + 2 * math.pi * np.arange(v) / v
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def random_spread(v: int, size: int, inset: float, spacing: float, rng: np.random.Generator) -> np.ndarray | None:
    """Uniform random centres at least ``spacing`` apart, or None if one could not be placed."""
    points = np.empty((v, 2))
    for i in range(v):
        candidates = rng.uniform(inset, size - inset, size=(RANDOM_CANDIDATES, 2))
        if i:
            nearest = np.linalg.norm(candidates[:, None, :] - points[None, :i, :], axis=-1).min(axis=1)
            candidates = candidates[nearest >= spacing]
        if not len(candidates):
            return None
        points[i] = candidates[0]
    return points


def spring(v: int, edges: np.ndarray, size: int, inset: float, rng: np.random.Generator) -> np.ndarray:
    """Fruchterman-Reingold from random starting points, stretched to fill the square."""
    points = rng.uniform(0.0, 1.0, size=(v, 2))
    fruchterman_reingold(points, np.asarray(edges, dtype=np.int64).reshape(-1, 2), SPRING_ITERATIONS)
    return fit_square(points, size, inset)


def fit_square(points: np.ndarray, size: int, inset: float) -> np.ndarray:
    """Scale each axis so the points span ``[inset, size - inset]`` (centred if they have no extent)."""
    lo, span = points.min(axis=0), np.ptp(points, axis=0)
    unit = np.where(span > 1e-9, (points - lo) / np.where(span > 1e-9, span, 1.0), 0.5)
    return inset + unit * (size - 2 * inset)


@numba.njit(cache=True)
def fruchterman_reingold(points: np.ndarray, edges: np.ndarray, iterations: int) -> None:
    """Move ``points`` in place: all pairs repel (k²/d), edges attract (d²/k), steps capped by a cooling
    temperature. A weak pull to the centroid keeps isolated vertices from drifting off, which would
    squeeze the rest of the drawing once it is scaled to the image."""
    n = points.shape[0]
    if n < 2:
        return
    k = 1.0 / np.sqrt(n)
    temperature = 0.1
    cooling = temperature / (iterations + 1)
    shift = np.zeros_like(points)
    for _ in range(iterations):
        shift[:] = 0.0
        for i in range(n):
            for j in range(i + 1, n):
                dx, dy = points[i, 0] - points[j, 0], points[i, 1] - points[j, 1]
                force = k * k / max(dx * dx + dy * dy, 1e-6)  # (k²/d) along the unit vector (dx, dy)/d
                shift[i, 0] += force * dx
                shift[i, 1] += force * dy
                shift[j, 0] -= force * dx
                shift[j, 1] -= force * dy
        for e in range(edges.shape[0]):
            a, b = edges[e, 0], edges[e, 1]
            dx, dy = points[a, 0] - points[b, 0], points[a, 1] - points[b, 1]
            force = np.sqrt(dx * dx + dy * dy) / k  # (d²/k) along the unit vector
            shift[a, 0] -= force * dx
            shift[a, 1] -= force * dy
            shift[b, 0] += force * dx
            shift[b, 1] += force * dy
        cx, cy = points[:, 0].mean(), points[:, 1].mean()
        for i in range(n):
            sx = shift[i, 0] - k * (points[i, 0] - cx)
            sy = shift[i, 1] - k * (points[i, 1] - cy)
            length = np.sqrt(sx * sx + sy * sy)
            if length > 0:
                step = min(length, temperature) / length
                points[i, 0] += sx * step
                points[i, 1] += sy * step
        temperature -= cooling


@numba.njit(cache=True)
def untangle(points: np.ndarray, edges: np.ndarray, gap: float, clearance: float,
             lo: float, hi: float, rounds: int) -> bool:
    """Nudge ``points`` in place until vertices are ``gap`` apart and every edge passes at least
    ``clearance`` from the vertices it does not join; True if that was reached within ``rounds``.

    Each violation is fixed by moving its two sides apart by the shortfall (plus a pixel), half each:
    for an edge, the vertex goes one way and the edge's ends the other. Points stay in [lo, hi]².
    """
    n = points.shape[0]
    for _ in range(rounds):
        clean = True
        for i in range(n):
            for j in range(i + 1, n):
                dx, dy = points[j, 0] - points[i, 0], points[j, 1] - points[i, 1]
                d = np.sqrt(dx * dx + dy * dy)
                if d < gap:
                    clean = False
                    ux, uy = (dx / d, dy / d) if d > 1e-9 else (1.0, 0.0)
                    push = (gap - d + 1.0) / 2
                    _move(points, i, -push * ux, -push * uy, lo, hi)
                    _move(points, j, push * ux, push * uy, lo, hi)
        for e in range(edges.shape[0]):
            a, b = edges[e, 0], edges[e, 1]
            for c in range(n):
                if c == a or c == b:
                    continue
                ax, ay = points[a, 0], points[a, 1]
                ex, ey = points[b, 0] - ax, points[b, 1] - ay
                length2 = ex * ex + ey * ey
                t = ((points[c, 0] - ax) * ex + (points[c, 1] - ay) * ey) / length2 if length2 > 0 else 0.0
                t = min(max(t, 0.0), 1.0)
                dx, dy = points[c, 0] - (ax + t * ex), points[c, 1] - (ay + t * ey)
                d = np.sqrt(dx * dx + dy * dy)
                if d < clearance:
                    clean = False
                    if d > 1e-9:
                        ux, uy = dx / d, dy / d
                    else:  # on the line: leave along its normal
                        norm = max(np.sqrt(length2), 1e-9)
                        ux, uy = -ey / norm, ex / norm
                    push = (clearance - d + 1.0) / 2
                    _move(points, c, push * ux, push * uy, lo, hi)
                    _move(points, a, -push * ux * (1 - t), -push * uy * (1 - t), lo, hi)
                    _move(points, b, -push * ux * t, -push * uy * t, lo, hi)
        if clean:
            return True
    return False


@numba.njit(cache=True)
def _move(points: np.ndarray, i: int, dx: float, dy: float, lo: float, hi: float) -> None:
    points[i, 0] = min(max(points[i, 0] + dx, lo), hi)
    points[i, 1] = min(max(points[i, 1] + dy, lo), hi)

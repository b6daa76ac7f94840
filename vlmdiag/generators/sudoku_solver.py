"""Compiled sudoku search: solve, count solutions, fill a random grid, dig a unique puzzle.

Grids are flat int8 arrays of 81 cells, row-major, 0 = empty. Candidates are 9-bit masks
(bit d-1 = digit d). The search is a plain depth-first search that always branches on the cell
with the fewest candidates; compiled with numba it takes tens of microseconds per puzzle, which
is what makes "dig until exactly k givens, checking uniqueness after every removal" affordable.

Only two functions are jitted (``_search`` and ``_dig``) so the one-off compile stays short, and
both are cached on disk.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_ALL = 0x1FF
_POPCOUNT = np.array([m.bit_count() for m in range(512)], dtype=np.int8)
_IDENTITY_ORDER = np.tile(np.arange(9, dtype=np.int8), (81, 1))


@njit(cache=True)
def _search(grid, ban_cell, ban_digit, limit, order, out):
    """Count solutions of ``grid`` up to ``limit``; the first one found is written to ``out``.

    ``ban_digit`` is removed from the candidates of ``ban_cell`` (-1: no ban). Digging uses it to
    ask "is there a solution other than the known one?" as a search for a single solution, which
    is much cheaper than counting to two. ``order[cell]`` is the order digits are tried in.
    Returns -1 if the givens already clash.
    """
    rows = np.zeros(9, np.int64)
    cols = np.zeros(9, np.int64)
    boxes = np.zeros(9, np.int64)
    empties = np.empty(81, np.int64)
    n = 0
    for c in range(81):
        v = grid[c]
        if v == 0:
            empties[n] = c
            n += 1
            continue
        bit = 1 << (v - 1)
        r, k = c // 9, c % 9
        b = (r // 3) * 3 + k // 3
        if (rows[r] | cols[k] | boxes[b]) & bit:
            return -1
        rows[r] |= bit
        cols[k] |= bit
        boxes[b] |= bit

    work = grid.copy()
    masks = np.zeros(81, np.int64)  # untried candidates of the cell branched on at each depth
    placed = np.zeros(81, np.int64)  # bit placed at each depth, 0 when none
    count = 0
    depth = 0
    descend = True
    while True:
        if descend:
            if depth == n:
                count += 1
                if count == 1:
                    out[:] = work
                if count >= limit:
                    return count
                depth -= 1
            else:
                best, best_mask, best_pop = -1, 0, 10
                for i in range(depth, n):
                    c = empties[i]
                    r, k = c // 9, c % 9
                    m = _ALL & ~(rows[r] | cols[k] | boxes[(r // 3) * 3 + k // 3])
                    if c == ban_cell and ban_digit > 0:
                        m &= ~(1 << (ban_digit - 1))
                    p = _POPCOUNT[m]
                    if p < best_pop:
                        best, best_mask, best_pop = i, m, p
                        if p <= 1:
                            break
                if best_pop == 0:
                    depth -= 1
                else:
                    empties[depth], empties[best] = empties[best], empties[depth]
                    masks[depth] = best_mask
                    placed[depth] = 0
        if depth < 0:
            return count
        # Advance the cell at `depth` to its next untried digit, or backtrack past it.
        c = empties[depth]
        r, k = c // 9, c % 9
        b = (r // 3) * 3 + k // 3
        if placed[depth]:
            rows[r] ^= placed[depth]
            cols[k] ^= placed[depth]
            boxes[b] ^= placed[depth]
            placed[depth] = 0
        if masks[depth] == 0:
            work[c] = 0
            depth -= 1
            descend = False
            continue
        for j in range(9):
            d = order[c, j]
            if masks[depth] & (1 << d):
                break
        bit = 1 << d
        masks[depth] ^= bit
        placed[depth] = bit
        rows[r] |= bit
        cols[k] |= bit
        boxes[b] |= bit
        work[c] = d + 1
        depth += 1
        descend = True


@njit(cache=True)
def _dig(solution, cells, target, order):
    """Empty ``cells`` of ``solution`` in turn, skipping any whose removal breaks uniqueness.

    Stops once ``target`` givens are left. Removing a cell can only add solutions, so a cell that
    could not be removed never becomes removable later: one pass ends at a minimal puzzle when
    the target is not reached. Returns the puzzle and its number of givens.
    """
    puzzle = solution.copy()
    scratch = np.empty(81, np.int8)
    givens = 81
    for c in cells:
        if givens <= target:
            break
        d = np.int64(puzzle[c])
        puzzle[c] = 0
        # Unique iff no solution has a different digit in c.
        if _search(puzzle, c, d, 1, order, scratch) > 0:
            puzzle[c] = d
        else:
            givens -= 1
    return puzzle, givens


def _flat(grid) -> np.ndarray:
    flat = np.asarray(grid, dtype=np.int8).reshape(-1)
    if flat.size != 81:
        raise ValueError(f"a sudoku grid has 81 cells, got {flat.size}")
    if flat.min() < 0 or flat.max() > 9:
        raise ValueError("sudoku cells hold 0 (empty) or a digit 1-9")
    return np.ascontiguousarray(flat)


def solve(grid) -> tuple[np.ndarray | None, int]:
    """(first solution as 9x9 int8 array or None, number of solutions capped at 2)."""
    out = np.zeros(81, np.int8)
    count = _search(_flat(grid), -1, -1, 2, _IDENTITY_ORDER, out)
    if count <= 0:
        return None, 0
    return out.reshape(9, 9), count


def count_solutions(grid, limit: int = 2) -> int:
    """Number of solutions, counting stops at ``limit``; 0 when the givens clash."""
    out = np.zeros(81, np.int8)
    return max(0, int(_search(_flat(grid), -1, -1, limit, _IDENTITY_ORDER, out)))


def random_fill(rng: np.random.Generator) -> np.ndarray:
    """A solved grid from a search that tries digits in a random order in every cell (9x9 int8)."""
    order = rng.permuted(_IDENTITY_ORDER, axis=1)
    out = np.zeros(81, np.int8)
    _search(np.zeros(81, np.int8), -1, -1, 1, order, out)
    return out.reshape(9, 9)


def dig(solution: np.ndarray, rng: np.random.Generator, target: int) -> tuple[np.ndarray, int]:
    """Remove givens of ``solution`` in a random order, keeping the solution unique.

    Returns (9x9 puzzle, givens left); givens left > target means the pass hit a minimal puzzle first.
    """
    cells = rng.permutation(81)
    puzzle, givens = _dig(_flat(solution), cells, target, _IDENTITY_ORDER)
    return puzzle.reshape(9, 9), int(givens)

"""Sudoku instances: a random solved grid, dug down to exactly the requested number of givens
while keeping the solution unique, then rated by the human-technique solver.

A problem is the puzzle as a 9x9 list of ints, 0 = empty (the public ``ground_truth`` format).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlmdiag.errors import BudgetExceeded, ConfigError
from vlmdiag.generators.sudoku_logic import solve_logically
from vlmdiag.generators.sudoku_solver import dig, random_fill
from vlmdiag.tasks.base import Sample, TaskConfig

MIN_CLUES = 17  # fewest givens any uniquely solvable 9x9 sudoku has (McGuire et al., 2012)
STYLES = ("clean", "varied")


@dataclass(frozen=True)
class SudokuConfig(TaskConfig):
    clues: tuple[int, int] = (30, 65)  # number of givens, drawn uniformly per instance
    image_size: int = 369  # the research datasets' size
    style: str = "clean"  # clean | varied
    budget: int = 200  # attempts (grid + dig) per instance before giving up

    def check(self) -> None:
        lo, hi = self.clues
        if lo < MIN_CLUES or hi > 81:
            bad = lo if lo < MIN_CLUES else hi
            raise ConfigError(f"sudoku needs {MIN_CLUES}..81 clues; {bad} is impossible")
        if self.style not in STYLES:
            raise ConfigError(f"unknown sudoku style {self.style!r} (choose from: {', '.join(STYLES)})")
        if self.image_size < 64:
            raise ConfigError(f"image_size {self.image_size} is too small to draw a sudoku; use 64 or more")
        if self.budget < 1:
            raise ConfigError(f"budget must be at least 1 attempt, got {self.budget}")


def shuffle_symmetries(grid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply a random validity-preserving transformation: digit relabelling, band and stack
    order, row order within bands, column order within stacks, and an optional transpose."""
    digits = np.concatenate(([0], rng.permutation(9) + 1)).astype(grid.dtype)
    rows = (rng.permutation(3)[:, None] * 3 + np.stack([rng.permutation(3) for _ in range(3)])).ravel()
    cols = (rng.permutation(3)[:, None] * 3 + np.stack([rng.permutation(3) for _ in range(3)])).ravel()
    out = digits[grid][np.ix_(rows, cols)]
    return out.T.copy() if rng.integers(2) else out


def random_grid(rng: np.random.Generator) -> np.ndarray:
    """A solved 9x9 grid: a randomised search fill, then random symmetries.

    Not exactly uniform over all solved grids (the search favours some), but the symmetries spread
    each fill over up to 9!·6^8·2 equivalent grids.
    """
    return shuffle_symmetries(random_fill(rng), rng)


def make_puzzle(config: SudokuConfig, rng: np.random.Generator) -> Sample:
    """A puzzle with exactly the drawn number of givens and exactly one solution."""
    target = int(rng.integers(config.clues[0], config.clues[1] + 1))
    for _ in range(config.budget):
        solution = random_grid(rng)
        puzzle, givens = dig(solution, rng, target)
        if givens == target:
            return _sample(puzzle, solution)
    raise BudgetExceeded(
        f"sudoku: no unique puzzle with {target} clues in {config.budget} attempts "
        f"(below 22 clues they are rare); ask for more clues or a larger budget"
    )


def _sample(puzzle: np.ndarray, solution: np.ndarray) -> Sample:
    problem = puzzle.astype(int).tolist()
    rating = solve_logically(problem, solution)
    meta = {
        "clues": int(np.count_nonzero(puzzle)),
        "difficulty": rating.difficulty,
        "techniques": ",".join(rating.techniques),
        "guesses": rating.guesses,
    }
    return Sample(problem=problem, meta=meta)

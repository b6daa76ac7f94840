"""Sudoku generation speed, single process.

Prints: unique puzzles/s at exactly 30 givens (every one verified unique afterwards), the same
with the rating left out, reasoning-gym's sudoku rate at the same 51 empty cells measured in the
same run (skipped if reasoning-gym is not installed), and the end-to-end rate of full dataset
rows (puzzle, rating, trace, render, PNG) written to Parquet.

    python benchmarks/bench_sudoku.py --n 2000 --seed 0
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vlmdiag.generators.sudoku import SudokuConfig, make_puzzle, random_grid
from vlmdiag.generators.sudoku_solver import count_solutions, dig
from vlmdiag.seeding import rng_for

CLUES = 30


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:9.1f}/s  ({count} in {seconds:.2f} s)"


def bench_ours(n: int, seed: int) -> float:
    config = SudokuConfig(clues=(CLUES, CLUES))
    make_puzzle(config, np.random.default_rng(seed))  # load the compiled solver outside the clock
    start = time.perf_counter()
    samples = [make_puzzle(config, rng_for(seed, i)) for i in range(n)]
    seconds = time.perf_counter() - start
    assert all(count_solutions(s.problem) == 1 for s in samples), "a puzzle is not unique"
    assert all(sum(v != 0 for row in s.problem for v in row) == CLUES for s in samples)
    print(f"vlmdiag make_puzzle, {CLUES} givens, unique:  {rate(n, seconds)}")
    return n / seconds


def bench_core(n: int, seed: int) -> None:
    """Grid + dig only: the compiled part, without the Python difficulty rater."""
    start, made = time.perf_counter(), 0
    for i in range(n):
        rng = rng_for(seed, i)
        while dig(random_grid(rng), rng, CLUES)[1] != CLUES:
            pass
        made += 1
    print(f"  of which grid + dig (no rating):          {rate(made, time.perf_counter() - start)}")


def bench_reasoning_gym(n: int, seed: int) -> float | None:
    try:
        import reasoning_gym
    except ImportError:
        print("reasoning-gym: not installed, skipped (pip install reasoning-gym)")
        return None
    empty = 81 - CLUES
    data = reasoning_gym.create_dataset("sudoku", min_empty=empty, max_empty=empty, size=n, seed=seed)
    start = time.perf_counter()
    for i in range(n):
        data[i]
    seconds = time.perf_counter() - start
    print(f"reasoning-gym sudoku, {empty} empty cells:       {rate(n, seconds)}")
    return n / seconds


def bench_rows(n: int, seed: int) -> None:
    """Whole dataset rows as the builder makes them, then one Parquet file."""
    import datasets

    from vlmdiag.hub.build import features, make_row
    from vlmdiag.tasks import get_task

    task = get_task("sudoku")
    config = SudokuConfig()
    make_row(task, config, seed, n)  # warm fonts and glyph caches outside the clock
    start = time.perf_counter()
    datasets.disable_progress_bars()
    rows = [make_row(task, config, seed, i) for i in range(n)]
    with tempfile.TemporaryDirectory() as folder:
        datasets.Dataset.from_list(rows, features=features(task)).to_parquet(str(Path(folder) / "rows.parquet"))
    seconds = time.perf_counter() - start
    print(f"end to end rows (clues {config.clues[0]}-{config.clues[1]}, image, trace, parquet): {rate(n, seconds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="puzzles to time (rows and reasoning-gym use fewer)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ours = bench_ours(args.n, args.seed)
    bench_core(args.n, args.seed)
    theirs = bench_reasoning_gym(max(20, args.n // 20), args.seed)
    if theirs:
        print(f"ratio vlmdiag / reasoning-gym:             {ours / theirs:9.1f}x")
    try:
        bench_rows(max(50, args.n // 4), args.seed)
    except ImportError as missing:  # renderer or builder not in this checkout
        print(f"end to end rows: skipped ({missing})")


if __name__ == "__main__":
    main()

"""Per-item random streams.

Item ``index`` of a run with ``seed`` draws from ``SeedSequence(seed, spawn_key=(index, attempt,
stream))``: a pure function of those numbers, so any worker can make any item, and unlike
``Random(seed + index)`` seed 1 item 1 is not seed 2 item 0.
"""
import numpy as np

PROBLEM, RENDER = 0, 1


def rng_for(seed: int, index: int, attempt: int = 0, stream: int = PROBLEM) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, attempt, stream)))

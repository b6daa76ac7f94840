"""Small dataset folders in the `vlmdiag generate` format, for tests and benchmarks."""
from __future__ import annotations

from pathlib import Path


def tiny_dataset(folder: str | Path, task: str = "graph", test_rows: int = 8, seed: int = 0, **options) -> Path:
    """Write a dataset folder whose `test` split has ``test_rows`` rows (one row in each train split)."""
    from vlmdiag.hub.build import Plan, generate_dataset, split_sizes
    from vlmdiag.tasks import get_task

    config = get_task(task).config_cls(**options)
    plan = Plan(task, config, seed, split_sizes(test_rows + 2, test_rows, 1))
    return generate_dataset(plan, Path(folder))

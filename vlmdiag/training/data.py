"""Training rows: a split of a `vlmdiag generate` folder or of a Hub dataset, read with `datasets`."""
from __future__ import annotations

from vlmdiag.errors import VlmdiagError
from vlmdiag.hub.load import load_split

NEEDED = {
    "train_sft": ("query", "image", "response", "perception_start", "perception_end", "task"),
    "train_rl": ("id", "query", "image", "ground_truth", "task"),
}


def load_rows(data: str, split: str, limit: int | None = None):
    """The split's rows with the columns training reads; images decode as RGB for every processor."""
    import datasets

    rows = load_split(data, split)
    missing = [c for c in NEEDED.get(split, ()) if c not in rows.column_names]
    if missing:
        raise VlmdiagError(f"{data} split {split} lacks column(s) {', '.join(missing)}")
    if limit is not None:
        rows = rows.select(range(min(limit, len(rows))))
    if len(rows) == 0:
        raise VlmdiagError(f"{data} split {split} has no rows")
    return rows.cast_column("image", datasets.Image(mode="RGB"))


def single_task(rows) -> str:
    tasks = sorted(set(rows.unique("task")))
    if len(tasks) != 1:
        raise VlmdiagError(f"the data mixes tasks {tasks}; train on one task at a time")
    return tasks[0]

"""Training rows: a split of a `vlmdiag generate` folder or of a Hub dataset, read with `datasets`.

A local folder's Parquet shards are named explicitly rather than loaded by folder name: `datasets`
caches a local folder under its base name, so two different folders both called `graph` would
share one cache entry and the second would silently load the first one's rows.
"""
from __future__ import annotations

from pathlib import Path

from vlmdiag.errors import VlmdiagError

NEEDED = {
    "train_sft": ("query", "image", "response", "perception_start", "perception_end", "task"),
    "train_rl": ("id", "query", "image", "ground_truth", "task"),
}


def load_split(data: str, split: str, limit: int | None = None):
    """One split as a `datasets.Dataset`; `data` is a local folder if one exists there, else a Hub id."""
    rows = _local(Path(data), split) if Path(data).exists() else _hub(data, split)
    missing = [c for c in NEEDED.get(split, ()) if c not in rows.column_names]
    if missing:
        raise VlmdiagError(f"{data} split {split} lacks column(s) {', '.join(missing)}")
    if limit is not None:
        rows = rows.select(range(min(limit, len(rows))))
    if len(rows) == 0:
        raise VlmdiagError(f"{data} split {split} has no rows")
    return rows


def _local(folder: Path, split: str):
    import datasets

    files = sorted(str(p) for p in folder.glob(f"data/{split}-*.parquet"))
    if not files:
        found = sorted({p.name.split("-")[0] for p in folder.glob("data/*.parquet")})
        raise VlmdiagError(f"{folder} has no split {split!r} (found: {', '.join(found) or 'no Parquet shards'})")
    return datasets.load_dataset("parquet", data_files={split: files}, split=split)


def _hub(repo: str, split: str):
    import datasets

    try:
        return datasets.load_dataset(repo, split=split)
    except ValueError as e:
        raise VlmdiagError(f"cannot read split {split!r} of {repo}: {e}") from None
    except FileNotFoundError:
        raise VlmdiagError(f"no dataset at {repo} (neither a local folder nor a reachable Hub dataset)") from None


def single_task(rows) -> str:
    tasks = sorted(set(rows.unique("task")))
    if len(tasks) != 1:
        raise VlmdiagError(f"the data mixes tasks {tasks}; train on one task at a time")
    return tasks[0]

"""Reading one split of a dataset made by `vlmdiag generate`: a local folder or a Hub dataset id."""
from __future__ import annotations

from pathlib import Path

from vlmdiag.errors import VlmdiagError


def load_split(data: str, split: str, revision: str | None = None):
    """The split as a `datasets.Dataset`; `data` is a local folder if one exists there, else a Hub id.

    A local folder's shards are named explicitly rather than loaded by folder: `datasets` infers
    splits from names anywhere in the absolute path (a folder under ".../test_runs/" would put every
    shard in `test`).
    """
    import datasets

    folder = Path(data)
    if folder.exists():
        if revision:
            raise VlmdiagError("a dataset revision applies to Hub datasets, not to a local folder")
        shards = sorted(str(p) for p in folder.glob(f"data/{split}-*.parquet"))
        if not shards:
            found = sorted({p.name.split("-")[0] for p in folder.glob("data/*.parquet")})
            raise VlmdiagError(f"{folder} has no split {split!r} (found: {', '.join(found) or 'no Parquet shards'})")
        return datasets.load_dataset("parquet", data_files={split: shards}, split=split)
    try:
        return datasets.load_dataset(str(data), split=split, revision=revision)
    except ValueError as e:  # unknown split
        raise VlmdiagError(f"cannot read split {split!r} of {data}: {e}") from None
    except FileNotFoundError:
        raise VlmdiagError(f"no dataset at {data} (neither a local folder nor a reachable Hub dataset)") from None

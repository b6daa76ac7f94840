"""The evaluation data: a split of a dataset made by `vlmdiag generate`, local or on the Hub.

`--data` is a local folder when one exists at that path, else a Hub dataset id. Either way it is
read with `datasets.load_dataset`, and the run records what pins it down: for a folder, a digest
of its Parquet files; for the Hub, the commit the revision resolved to.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from vlmdiag.errors import VlmdiagError
from vlmdiag.hub.load import load_split

REQUIRED = ("id", "task", "query", "image", "ground_truth")


@dataclass
class EvalData:
    """One split, with images left encoded until a batch needs them."""

    rows: object  # datasets.Dataset
    source: str
    split: str
    revision: str | None
    fingerprint: str
    task: str

    def identity(self) -> dict:
        return {"data": self.source, "split": self.split, "revision": self.revision,
                "fingerprint": self.fingerprint}


def load_eval_data(data: str, split: str = "test", revision: str | None = None,
                   limit: int | None = None) -> EvalData:
    import datasets

    local = Path(data).exists()
    rows = load_split(data, split, revision)
    missing = [c for c in REQUIRED if c not in rows.column_names]
    if missing:
        raise VlmdiagError(f"{data} is not a vlmdiag dataset: missing column(s) {', '.join(missing)}")
    if limit is not None:
        rows = rows.select(range(min(limit, len(rows))))
    # Keep images as their stored bytes: hashing them is cheap, decoding waits for the batch.
    rows = rows.cast_column("image", datasets.Image(decode=False))
    tasks = set(rows.unique("task"))
    if len(tasks) != 1:
        raise VlmdiagError(f"{data} split {split} mixes tasks {sorted(tasks)}; evaluate one task at a time")
    if local:
        revision, fingerprint = None, _folder_digest(Path(data), split)
    else:
        revision, fingerprint = _hub_commit(data, revision), rows._fingerprint
    return EvalData(rows, str(data), split, revision, fingerprint, tasks.pop())


def _folder_digest(folder: Path, split: str) -> str:
    """Digest of the split's data files: any change to the rows changes it."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.startswith(f"{split}-") and
                   p.suffix in {".parquet", ".arrow", ".jsonl", ".json", ".csv"})
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _hub_commit(repo: str, revision: str | None) -> str | None:
    """The commit a Hub revision points at now, or the revision as given when offline."""
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(repo, revision=revision).sha
    except Exception:  # offline or no access: the requested revision is the best record we have
        return revision

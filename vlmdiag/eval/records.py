"""The per-sample JSONL log of a run: appended batch by batch, flushed and fsynced.

A process killed mid-write leaves at most one partial last line; opening the log cuts it off, so
the next append starts on a clean line and the sample it held is simply run again.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

from vlmdiag.errors import VlmdiagError


class RecordLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.records = list(self._recover())

    def _recover(self) -> Iterator[dict]:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            with self.path.open("r+b") as f:
                f.truncate(complete)
                os.fsync(f.fileno())
        for number, line in enumerate(data[:complete].splitlines(), 1):
            try:
                yield json.loads(line)
            except ValueError:
                raise VlmdiagError(f"{self.path} line {number} is not a JSON record; the log is damaged") from None

    def append(self, records: list[dict]) -> None:
        if not records:
            return
        # One write per batch: a kill leaves whole earlier batches and at most one cut line.
        text = "".join(dumps(r) + "\n" for r in records)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        self.records.extend(records)


def dumps(record: dict) -> str:
    # ASCII only: raw U+2028 or U+0085 in a line would split it for readers that use splitlines().
    # default=str: parsed values the task returns (tuples, sets) are written for reading only.
    return json.dumps(record, default=str)


def read_records(path: Path) -> list[dict]:
    return RecordLog(path).records


def rewrite(path: Path, records: list[dict]) -> None:
    """Replace the log atomically (after re-scoring)."""
    tmp = Path(path).with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write("".join(dumps(r) + "\n" for r in records))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

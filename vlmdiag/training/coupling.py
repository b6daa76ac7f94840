"""The coupling diagnostic: how much the reward actually tells about perception and about reasoning.

Over a set of rollouts, Pearson correlations (for 0/1 signals, the phi coefficient) of
  reward ~ perception   the total reward with true perception correctness a_p;
  reward ~ reasoning    the total reward with reasoning correctness (answer right given the
                        completion's own transcription);
  <surrogate> ~ perception   each label-free perception reward with a_p, which predicts whether
                        rewarding that surrogate improves perception.
A correlation is NaN when either side does not vary (e.g. every rollout wrong): it is undefined,
not zero. Rollouts are JSON lines, as `train grpo` writes them.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from vlmdiag.errors import VlmdiagError

SURROGATES = ("majority", "consistency", "format")
ROLLOUT_FILE = "rollouts.jsonl"


def pearson(x, y) -> float:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(dx @ dy) / denominator if denominator > 0 else math.nan


def coupling(records: list[dict]) -> dict[str, float]:
    """The correlations above plus the rates they are computed from."""
    column = {key: [r[key] for r in records] for key in ("reward", "a", "a_p", "reasoning", *SURROGATES)}
    stats = {
        "n": float(len(records)),
        "reward~perception": pearson(column["reward"], column["a_p"]),
        "reward~reasoning": pearson(column["reward"], column["reasoning"]),
    }
    stats.update({f"{s}~perception": pearson(column[s], column["a_p"]) for s in SURROGATES})
    stats.update({f"rate/{k}": float(np.mean(v)) if v else math.nan for k, v in column.items()})
    return stats


def by_task(records: list[dict]) -> dict[str, dict[str, float]]:
    tasks = sorted({r["task"] for r in records})
    return {task: coupling([r for r in records if r["task"] == task]) for task in tasks}


def read_rollouts(path: str | Path) -> list[dict]:
    """Rollouts from a JSON-lines file, or from every rollouts file under a folder."""
    path = Path(path)
    files = sorted(path.rglob(ROLLOUT_FILE)) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise VlmdiagError(f"no rollouts at {path} (expected {ROLLOUT_FILE} written by `vlmdiag train grpo`)")
    records = []
    for file in files:
        with file.open() as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError:
                        raise VlmdiagError(f"{file}:{number} is not a JSON line") from None
    if not records:
        raise VlmdiagError(f"{path} holds no rollouts")
    return records

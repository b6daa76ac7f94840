"""The three accuracies, their Wilson intervals, what explains the failures, and breakdowns.

- a: share of end-to-end records whose answer the task verifies;
- a_p: share of end-to-end records whose perception matches p* exactly (the task's partial scores
  are averaged alongside);
- a_r: share of counterfactual records (oracle p* given) whose answer the task verifies.
A record without a response (backend error) counts as a failure. With n > 1 samples per prompt
every sample is one trial.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable

from vlmdiag.eval.requests import COUNTERFACTUAL, END_TO_END

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion; None without trials."""
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At 0 or n successes the interval touches 0 or 1 exactly; rounding would leave it a hair off.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def proportion(successes: int, n: int) -> dict:
    ci = wilson(successes, n)
    return {"value": successes / n if n else None, "low": ci and ci[0], "high": ci and ci[1],
            "successes": successes, "n": n}


def accuracies(records: Iterable[dict]) -> dict:
    e2e, cf = _split(records)
    return {
        "a": proportion(sum(r["correct"] for r in e2e), len(e2e)),
        "a_p": proportion(sum(_perceived(r) for r in e2e), len(e2e)),
        "a_r": proportion(sum(r["correct"] for r in cf), len(cf)),
    }


def compute_metrics(records: list[dict], breakdown_columns: tuple[str, ...] = ()) -> dict:
    e2e, cf = _split(records)
    return {
        **accuracies(records),
        "perception_partial": _mean_partials(e2e),
        "failures": failure_attribution(e2e),
        "problems": {
            "backend_errors": sum(r["error"] is not None for r in records),
            "unparsed_perception": sum(r["error"] is None and r["perception"] is None for r in e2e),
            "unparsed_answer": sum(r["error"] is None and r["answer"] is None for r in e2e + cf),
        },
        "breakdowns": {col: breakdown(records, col) for col in breakdown_columns},
    }


def failure_attribution(e2e: list[dict]) -> dict:
    """Among end-to-end failures: wrong perception, or right perception but wrong reasoning."""
    failures = [r for r in e2e if not r["correct"]]
    counts = {"perception": 0, "reasoning": 0, "no_response": 0}
    for r in failures:
        cause = "no_response" if r["error"] is not None else "reasoning" if _perceived(r) else "perception"
        counts[cause] += 1
    n = len(failures)
    return {"n": n, "counts": counts, "shares": {k: (v / n if n else None) for k, v in counts.items()}}


def breakdown(records: list[dict], column: str) -> dict:
    groups: dict = defaultdict(list)
    for r in records:
        groups[r["meta"].get(column)].append(r)
    return {str(value): {"n_samples": len({r["id"] for r in group}), **accuracies(group)}
            for value, group in sorted(groups.items(), key=lambda kv: _order(kv[0]))}


def _split(records: Iterable[dict]) -> tuple[list[dict], list[dict]]:
    e2e, cf = [], []
    for r in records:
        (e2e if r["mode"] == END_TO_END else cf if r["mode"] == COUNTERFACTUAL else []).append(r)
    return e2e, cf


def _perceived(record: dict) -> bool:
    scores = record["perception_scores"]
    return bool(scores) and scores.get("exact") == 1.0


def _mean_partials(e2e: list[dict]) -> dict:
    sums: dict = defaultdict(float)
    for r in e2e:
        for k, v in (r["perception_scores"] or {}).items():
            sums[k] += v
    return {k: v / len(e2e) for k, v in sums.items()}


def _order(value) -> tuple:
    """Numbers in numeric order before strings; None last."""
    if value is None:
        return (2, "")
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))

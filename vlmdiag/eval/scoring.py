"""Turn one generation into one scored record, and re-score saved records without a model.

The text scored is what the model's turn holds: the prefill (if any) followed by the generated
continuation. A response that cannot be parsed is recorded with the parser's reason and scored
wrong; nothing is guessed. Parsed values are kept as the task returns them; written to JSON they
are for reading only (dict keys become strings), and re-scoring always parses the raw text again.
"""
from __future__ import annotations

from typing import Any

from vlmdiag.eval.backends.base import Generation
from vlmdiag.eval.requests import END_TO_END, Request


def new_record(request: Request, k: int, generation: Generation, ground_truth: str, meta: dict) -> dict:
    has_text = generation.error is None
    return {
        "id": request.id, "mode": request.mode, "variant": request.variant, "k": k,
        "prompt_hash": request.prompt_hash, "image_hash": request.image_hash, "seed": request.seed,
        "prefill": request.prefill,
        "response": generation.texts[k] if has_text else None,
        "error": generation.error,
        "prompt_tokens": generation.prompt_tokens,
        "completion_tokens": generation.completion_tokens[k] if has_text and generation.completion_tokens else None,
        "latency_s": generation.latency_s,
        "ground_truth": ground_truth, "meta": meta,
    }


def score_record(task, record: dict, problem: Any = None) -> dict:
    """Fill in the parsed parts and scores of a record (in place; also returned)."""
    if problem is None:
        problem = task.load_problem(record["ground_truth"])
    if record["response"] is None:  # the backend failed for this request: wrong, and said why
        record.update(perception=None, answer=None, perception_error="no response", answer_error="no response",
                      correct=False, perception_scores=_perception_scores(task, problem, None, record["mode"]))
        return record
    parsed = task.parse((record["prefill"] or "") + record["response"])
    record.update(
        perception=parsed.perception, answer=parsed.answer,
        perception_error=parsed.perception_error, answer_error=parsed.answer_error,
        correct=parsed.answer is not None and bool(task.verify(problem, parsed.answer)),
        perception_scores=_perception_scores(task, problem, parsed.perception, record["mode"]),
    )
    return record


def _perception_scores(task, problem: Any, perception: Any, mode: str) -> dict | None:
    # Only the end-to-end response holds the model's own perception; the counterfactual one
    # either starts with the oracle's or has none.
    if mode != END_TO_END:
        return None
    return {k: float(v) for k, v in task.score_perception(problem, perception).items()}


"""Replay: score responses produced elsewhere, read from a JSONL file.

Each line: ``{"id": ..., "response": ...}`` plus optionally ``"mode"`` (``end_to_end``, the
default, or ``counterfactual``) and ``"k"`` (sample number, default 0). For the prefill variant the
response is the continuation after the oracle perception, as an engine returns it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from vlmdiag.errors import VlmdiagError
from vlmdiag.eval.backends.base import Backend, Generation, Sampling
from vlmdiag.eval.requests import END_TO_END, Request


class ReplayBackend(Backend):
    name = "replay"
    supports_prefill = True
    default_batch_size = 1024

    def __init__(self, responses: str | Path, model: str | None = None):
        path = Path(responses)
        if not path.is_file():
            raise VlmdiagError(f"replay needs a JSONL file of responses; {path} is not a file")
        raw = path.read_bytes()
        self.model, self.digest = model or path.stem, hashlib.sha256(raw).hexdigest()
        self.responses: dict[tuple[str, str], dict[int, str]] = {}
        for number, line in enumerate(raw.decode("utf-8").split("\n"), 1):
            if line.strip():
                self._add(number, line, path)

    def _add(self, number: int, line: str, path: Path) -> None:
        try:
            item = json.loads(line)
            key, k, text = (str(item["id"]), item.get("mode", END_TO_END)), int(item.get("k", 0)), item["response"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise VlmdiagError(f"{path} line {number}: expected an object with \"id\" and \"response\"") from None
        if not isinstance(text, str):
            raise VlmdiagError(f"{path} line {number}: \"response\" must be a string")
        self.responses.setdefault(key, {})[k] = text

    def identity(self) -> dict:
        return {"model": self.model, "responses_sha256": self.digest}

    def generate(self, requests: list[Request], sampling: Sampling) -> list[Generation]:
        return [self._lookup(r, sampling.n) for r in requests]

    def _lookup(self, request: Request, n: int) -> Generation:
        found = self.responses.get(request.key, {})
        missing = [k for k in range(n) if k not in found]
        if missing:
            return Generation(error=f"no response for {request.id} ({request.mode}, sample {missing[0]}) in the replay file")
        return Generation(texts=tuple(found[k] for k in range(n)))

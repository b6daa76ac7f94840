"""What is asked of the model: one request per dataset row and protocol mode.

- ``end_to_end``: the image and the dataset's prompt. Scores a (answer) and a_p (perception).
- ``counterfactual``: the model is handed the oracle p*; scores a_r. Variant ``prefill`` sends the
  same image and prompt with the assistant turn already started by the oracle perception, written
  exactly as a correct response starts; variant ``text`` puts p* in the prompt and sends no image.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import cached_property

from PIL import Image

END_TO_END, COUNTERFACTUAL = "end_to_end", "counterfactual"
MODES = (END_TO_END, COUNTERFACTUAL)
PREFILL, TEXT = "prefill", "text"
VARIANTS = (PREFILL, TEXT)


@dataclass(frozen=True)
class Request:
    row: int
    id: str
    mode: str
    variant: str | None
    prompt: str
    image: bytes | None  # encoded as stored in the dataset; decoded only by backends that need pixels
    prefill: str | None
    seed: int

    @property
    def key(self) -> tuple[str, str]:
        return self.id, self.mode

    @cached_property
    def prompt_hash(self) -> str:
        return _sha(f"{self.prompt}\0{self.prefill or ''}".encode())

    @cached_property
    def image_hash(self) -> str | None:
        return None if self.image is None else _sha(self.image)

    def pil(self) -> Image.Image:
        image = Image.open(io.BytesIO(self.image))
        return image.convert("RGB")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def request_seed(seed: int, sample_id: str, mode: str) -> int:
    """A per-request sampling seed, so outputs do not depend on batch composition or order."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{sample_id}:{mode}".encode()).digest()[:4], "big") >> 1


def build_requests(data, task, modes: tuple[str, ...], variant: str, seed: int) -> list[Request]:
    """Requests in a fixed order (row by row, modes in order), so batches are the same on resume."""
    rows = data.rows.select_columns(["id", "query", "image", "ground_truth"])
    requests = []
    for i, row in enumerate(rows):
        problem = task.load_problem(row["ground_truth"])
        image = row["image"]["bytes"] if row["image"] else None
        for mode in modes:
            requests.append(_request(i, row, problem, image, mode, variant, task, seed))
    return requests


def _request(i: int, row: dict, problem, image: bytes | None, mode: str, variant: str, task, seed: int) -> Request:
    rseed = request_seed(seed, row["id"], mode)
    if mode == END_TO_END:
        return Request(i, row["id"], mode, None, row["query"], image, None, rseed)
    if variant == PREFILL:
        return Request(i, row["id"], mode, PREFILL, row["query"], image, task.trace(problem).prefill, rseed)
    return Request(i, row["id"], mode, TEXT, task.counterfactual_prompt(problem), None, None, rseed)

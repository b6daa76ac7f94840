"""The backend contract: turn a batch of requests into generations, one per request, in order."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import ClassVar

from vlmdiag.eval.requests import Request


@dataclass(frozen=True)
class Sampling:
    """Every sampling parameter, explicit, so a run records exactly what it asked for."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 2048
    seed: int = 0
    n: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Generation:
    """What came back for one request: ``n`` texts, or an error message (and no texts)."""

    texts: tuple[str, ...] = ()
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: tuple[int, ...] = ()
    latency_s: float | None = None


def failed(error: BaseException | str) -> Generation:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return Generation(error=text.strip().splitlines()[0][:500] if text.strip() else "error")


class Backend(ABC):
    name: ClassVar[str]
    # Can it start the assistant turn with given text and let the model continue?
    supports_prefill: ClassVar[bool] = False
    # Requests per call: large for engines that batch internally, so the accelerator stays busy.
    default_batch_size: ClassVar[int] = 64

    @abstractmethod
    def identity(self) -> dict:
        """What determines the outputs (model, revision, output-relevant engine options)."""

    def settings(self) -> dict:
        """Everything else worth recording (parallelism, memory): does not change the outputs."""
        return {}

    @abstractmethod
    def generate(self, requests: list[Request], sampling: Sampling) -> list[Generation]:
        """One Generation per request, in order. May raise; the runner then isolates the culprit."""

    def close(self) -> None:
        """Release the engine or connections."""

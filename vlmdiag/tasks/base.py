"""The contract every task implements, and the small value types it trades in.

A task works on a *problem*: the decoded `ground_truth` JSON of a dataset row. Everything the
evaluation and training code needs (prompts, parsing, verification, perception scoring, the
perception prefix of a correct response) is a function of the problem alone, so a row read back
from the Hub is enough to score a model on it.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from vlmdiag.errors import ConfigError


@dataclass(frozen=True)
class Sample:
    """What a generator returns: the problem (ground truth) plus metadata about how it was made."""

    problem: Any
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    """A model response taken apart. `None` plus a reason when a part could not be read."""

    perception: Any = None
    answer: Any = None
    perception_error: str | None = None
    answer_error: str | None = None


@dataclass(frozen=True)
class Trace:
    """A chain-of-thought response with the character spans training masks on.

    The perception span is the transcription of p*; the reasoning span is everything after it,
    final answer included.
    """

    text: str
    perception_span: tuple[int, int]
    reasoning_span: tuple[int, int]

    @property
    def perception(self) -> str:
        return self.text[slice(*self.perception_span)]

    @property
    def prefill(self) -> str:
        """The response up to the end of its perception span: how a correct answer starts."""
        return self.text[: self.perception_span[1]]


def parse_range(text: str, kind: type = int) -> tuple:
    """'7-10' -> (7, 10); '7' -> (7, 7). Floats accepted for kind=float."""
    parts = str(text).replace(" ", "").split("-")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"expected a number or a range like 7-10, got {text!r}")
    try:
        lo, hi = (kind(p) for p in parts)
    except ValueError:
        raise ConfigError(f"expected a number or a range like 7-10, got {text!r}") from None
    return lo, hi


@dataclass(frozen=True)
class TaskConfig:
    """Base for task configs: frozen dataclasses whose fields double as CLI options.

    Range fields are annotated ``tuple[int, int]`` (or floats) and accept "lo-hi" or a single value.
    Subclasses check their own constraints in ``check`` and raise ConfigError with a readable line.
    """

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple) and len(value) == 2 and value[0] > value[1]:
                raise ConfigError(f"{f.name}: minimum {value[0]} is greater than maximum {value[1]}")
        self.check()

    def check(self) -> None:
        """Task-specific validation; raise ConfigError."""

    @classmethod
    def options(cls) -> dict[str, str]:
        """Option name (with dashes) -> field name."""
        return {f.name.replace("_", "-"): f.name for f in dataclasses.fields(cls)}

    @classmethod
    def from_options(cls, options: dict[str, str]) -> "TaskConfig":
        """Build from string options as typed on the command line (``{"clues": "22-40"}``)."""
        hints = typing.get_type_hints(cls)
        known = cls.options()
        values = {}
        for key, text in options.items():
            name = known.get(key.replace("_", "-"))
            if name is None:
                raise ConfigError(f"unknown option --{key} (this task accepts: {', '.join('--' + k for k in known)})")
            values[name] = _convert(name, text, hints[name])
        return cls(**values)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def _convert(name: str, text: str, hint: Any) -> Any:
    if typing.get_origin(hint) is tuple:
        return parse_range(text, typing.get_args(hint)[0])
    try:
        if hint is bool:
            if str(text).lower() not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError
            return str(text).lower() in {"true", "1", "yes"}
        return hint(text)
    except (TypeError, ValueError):
        raise ConfigError(f"--{name.replace('_', '-')}: cannot read {text!r} as {getattr(hint, '__name__', hint)}") from None


class Task(ABC):
    """One task: generator, renderer, prompts, parser, verifier, perception scorer, CoT writer.

    Register a subclass instance in ``vlmdiag.tasks`` and every command works for it.
    """

    name: ClassVar[str]
    config_cls: ClassVar[type[TaskConfig]]
    # datasets feature types of the task's metadata columns (difficulty, style, layout ...);
    # every key here must be in every Sample.meta / render meta the task produces.
    meta_features: ClassVar[dict]
    # metadata columns the evaluation report breaks accuracy down by.
    breakdown_columns: ClassVar[tuple[str, ...]] = ()

    # -- making instances -------------------------------------------------------------------
    @abstractmethod
    def sample(self, config: TaskConfig, rng: np.random.Generator) -> Sample:
        """A random problem with its exact answer data. Pure function of (config, rng state)."""

    @abstractmethod
    def render(self, sample: Sample, config: TaskConfig, rng: np.random.Generator) -> tuple[Image.Image, dict]:
        """Draw the problem; return the image and style/layout metadata."""

    @abstractmethod
    def trace(self, problem: Any) -> Trace:
        """A deterministic chain-of-thought response for SFT, with its spans."""

    # -- text forms -------------------------------------------------------------------------
    def ground_truth(self, problem: Any) -> str:
        return json.dumps(problem)

    def load_problem(self, ground_truth: str) -> Any:
        return json.loads(ground_truth)

    @abstractmethod
    def perception_text(self, problem: Any) -> str:
        """The canonical text of p*, as the prompt asks the model to write it."""

    @abstractmethod
    def prompt(self, problem: Any) -> str:
        """End-to-end prompt: perception first, then reasoning, then the final answer."""

    @abstractmethod
    def counterfactual_prompt(self, problem: Any) -> str:
        """Prompt that hands the model p* as text and asks for the solution."""

    # -- reading and scoring responses --------------------------------------------------------
    @abstractmethod
    def parse(self, response: str) -> Parsed:
        """Take a response apart; never raises on any string."""

    @abstractmethod
    def verify(self, problem: Any, answer: Any) -> bool:
        """Is a parsed answer a correct solution of the problem?"""

    @abstractmethod
    def score_perception(self, problem: Any, perception: Any) -> dict[str, float]:
        """Scores of a parsed perception against p*: key "exact" (0/1) plus partial credit."""

    def problem_from_perception(self, perception: Any, problem: Any) -> Any:
        """The problem a parsed transcription describes (None if it is not a well-formed instance).

        Label-free rewards check an answer against the model's own reading; ``problem`` supplies
        what the prompt states (the graph's vertex count, say). Tasks without one cannot use them.
        """
        raise ConfigError(f"task {self.name!r} cannot build a problem from its transcription "
                          "(add problem_from_perception)")

    def canonical_id(self, problem: Any) -> str:
        """Stable id of the problem itself, so the same problem never lands in two splits."""
        import hashlib

        digest = hashlib.sha256(f"{self.name}:{self.ground_truth(problem)}".encode()).hexdigest()
        return f"{self.name}-{digest[:16]}"


# Every task's responses share one layout, so prompts, parsers and span masks agree:
#   Perception:\n<p*>\n\nReasoning:\n<steps>\n\nAnswer:\n<answer>
PERCEPTION, REASONING, ANSWER = "Perception", "Reasoning", "Answer"


def write_response(perception: str, reasoning: str, answer: str) -> Trace:
    """Assemble a response in the shared layout and mark its spans."""
    head = f"{PERCEPTION}:\n"
    text = f"{head}{perception}\n\n{REASONING}:\n{reasoning}\n\n{ANSWER}:\n{answer}"
    p_end = len(head) + len(perception)
    return Trace(text=text, perception_span=(len(head), p_end), reasoning_span=(p_end, len(text)))

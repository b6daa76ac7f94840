"""Per-completion rewards for perception-aware GRPO, from the task's own parser and verifier.

For each completion of a group (the completions of one prompt):
  a            end-to-end correctness: the answer solves the true problem;
  a_p          perception correctness against ground truth (exact match of p*);
  reasoning    the answer solves the problem *as the completion itself transcribed it*: reasoning
               correctness given the model's own perception. Label-free, so it is also the
               `consistency` surrogate;
  majority     the completion's transcription equals the strict majority transcription of its
               group (no strict majority, or an unreadable transcription: 0);
  format       the transcription is a well-formed instance (a graph on the stated vertices, a
               9x9 grid), i.e. the completion's own problem can be built from it.
R = α·(chosen perception reward) + (1−α)·a; `none` gives R = a.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Callable

from vlmdiag.errors import ConfigError
from vlmdiag.tasks import Task

PERCEPTION_REWARDS = ("gt", "majority", "consistency", "format", "none")
# perception reward name -> the Rollout attribute (and reward function) it is
_SIGNAL = {"gt": "a_p", "majority": "majority", "consistency": "consistency", "format": "format"}


@dataclass(frozen=True)
class Rollout:
    """One scored completion; the coupling diagnostic reads these back."""

    id: str
    task: str
    a: float
    a_p: float
    reasoning: float
    majority: float
    format: float
    reward: float

    @property
    def consistency(self) -> float:
        return self.reasoning

    def to_dict(self) -> dict:
        return {**asdict(self), "consistency": self.consistency}


def own_problem(task: Task, problem: Any, perception: Any) -> Any | None:
    """The problem a transcription describes, or None if it is not a well-formed instance."""
    return None if perception is None else task.problem_from_perception(perception, problem)


def perception_key(task: Task, perception: Any) -> str | None:
    """A canonical string of a transcription, so equal transcriptions vote together."""
    if perception is None:
        return None
    return json.dumps(perception, sort_keys=True)  # parsers already write transcriptions canonically


def strict_majority(keys: list[str | None]) -> str | None:
    """The most common readable key if it beats every other key; else None."""
    counts = Counter(k for k in keys if k is not None).most_common(2)
    if not counts or (len(counts) == 2 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def score_group(task: Task, problem: Any, completions: list[str], ids: list[str], alpha: float,
                perception_reward: str) -> list[Rollout]:
    """Score the completions of one prompt (they share the problem)."""
    parsed = [task.parse(text) for text in completions]
    keys = [perception_key(task, p.perception) for p in parsed]
    mode = strict_majority(keys)
    out = []
    for rid, p, key in zip(ids, parsed, keys):
        mine = own_problem(task, problem, p.perception)
        scores = {
            "a": float(p.answer is not None and task.verify(problem, p.answer)),
            "a_p": float(task.score_perception(problem, p.perception)["exact"]) if p.perception is not None else 0.0,
            "reasoning": float(mine is not None and p.answer is not None and task.verify(mine, p.answer)),
            "majority": float(key is not None and key == mode),
            "format": float(mine is not None),
        }
        out.append(Rollout(id=rid, task=task.name, reward=total_reward(scores, alpha, perception_reward), **scores))
    return out


def total_reward(scores: dict[str, float], alpha: float, perception_reward: str) -> float:
    if perception_reward == "none":
        return scores["a"]
    signal = _SIGNAL[perception_reward]
    value = scores["reasoning" if signal == "consistency" else signal]
    return alpha * value + (1 - alpha) * scores["a"]


def check_choice(alpha: float, perception_reward: str) -> None:
    if perception_reward not in PERCEPTION_REWARDS:
        raise ConfigError(f"--perception-reward must be one of {', '.join(PERCEPTION_REWARDS)}, got {perception_reward!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"--alpha must be in [0, 1], got {alpha}")


def text_of(completion: Any) -> str:
    """TRL hands conversational completions as message lists; plain ones as strings."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion:
        content = message.get("content", "")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(part.get("text", "") for part in content if part.get("type") == "text")
    return "".join(parts)


def score_batch(task: Task, completions: list, ground_truth: list[str], ids: list[str], alpha: float,
                perception_reward: str) -> list[Rollout]:
    """Score a batch in its original order, grouping completions by prompt id."""
    groups: dict[str, list[int]] = {}
    for index, rid in enumerate(ids):
        groups.setdefault(rid, []).append(index)
    scored: list[Rollout | None] = [None] * len(ids)
    for rid, members in groups.items():
        problem = task.load_problem(ground_truth[members[0]])
        texts = [text_of(completions[i]) for i in members]
        for i, rollout in zip(members, score_group(task, problem, texts, [rid] * len(members), alpha,
                                                    perception_reward)):
            scored[i] = rollout
    return scored


class RewardSuite:
    """The reward functions TRL calls, sharing one scoring pass per batch.

    Every signal is a reward function so TRL logs each one separately (`rewards/<name>/mean`);
    only `a` and the chosen perception reward carry weight. Scoring a batch also hands the
    rollouts to `on_scored(rollouts, texts, log_metric, trainer_state)` (the rollout log and the
    coupling metrics).
    """

    NAMES = ("a", "a_p", "majority", "consistency", "format")

    def __init__(self, task: Task, alpha: float, perception_reward: str,
                 on_scored: Callable | None = None):
        check_choice(alpha, perception_reward)
        self.task, self.alpha, self.perception_reward = task, alpha, perception_reward
        self.on_scored = on_scored
        self._last: tuple[tuple, list[Rollout]] | None = None

    def weights(self) -> list[float]:
        """Weights in NAMES order: 1−α on a, α on the chosen perception signal, 0 on the rest."""
        chosen = _SIGNAL.get(self.perception_reward)
        alpha = self.alpha if chosen else 0.0
        return [1 - alpha if n == "a" else (alpha if n == chosen else 0.0) for n in self.NAMES]

    def functions(self) -> list[Callable]:
        return [self._function(name) for name in self.NAMES]

    def _function(self, name: str) -> Callable:
        def reward(completions, ground_truth, id, log_metric=None, trainer_state=None, **_):  # noqa: A002
            rollouts = self.score(completions, ground_truth, id, log_metric, trainer_state)
            return [getattr(r, name) for r in rollouts]

        reward.__name__ = name
        return reward

    def score(self, completions, ground_truth, ids, log_metric=None, trainer_state=None) -> list[Rollout]:
        texts = tuple(text_of(c) for c in completions)
        # TRL hands every reward function the same list object for one batch; the texts guard
        # against that object's id being reused by a later batch.
        key = (id(completions), texts, tuple(ids))
        if self._last is None or self._last[0] != key:
            rollouts = score_batch(self.task, completions, ground_truth, ids, self.alpha, self.perception_reward)
            self._last = (key, rollouts)
            if self.on_scored is not None:
                self.on_scored(rollouts, texts, log_metric, trainer_state)
        return self._last[1]

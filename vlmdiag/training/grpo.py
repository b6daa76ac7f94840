"""Perception-aware GRPO: TRL's GRPOTrainer on the train_rl split with the reward suite.

Nothing in the trainer is replaced: the task-aware part is the dataset (a conversational prompt
with the image) and the reward functions. Every scored batch is appended to
`<out>/rollouts.jsonl` (what `vlmdiag diagnose coupling` reads) and the coupling statistics over
the most recent rollouts are logged as `coupling/...` metrics.
"""
from __future__ import annotations

import json
import math
from collections import deque
from pathlib import Path

from vlmdiag.tasks import Task
from vlmdiag.training.collate import user_turn
from vlmdiag.training.coupling import ROLLOUT_FILE, coupling
from vlmdiag.training.rewards import RewardSuite, Rollout

# Rollouts the logged coupling statistics cover: enough for a stable correlation, recent enough
# to follow the policy as it changes.
COUPLING_WINDOW = 512
KEEP_COLUMNS = ("id", "task", "image", "ground_truth")


def rl_dataset(rows):
    """train_rl rows -> TRL's conversational prompt form, keeping what the rewards read."""
    extra = [c for c in rows.column_names if c not in KEEP_COLUMNS + ("query",)]
    return rows.map(lambda row: {"prompt": user_turn(row["query"])}, remove_columns=extra + ["query"])


class RolloutLog:
    """Appends scored rollouts to a JSON-lines file and logs coupling over a recent window."""

    def __init__(self, out: Path, window: int = COUPLING_WINDOW):
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / ROLLOUT_FILE
        self.path.write_text("")  # a new run starts a new log
        self.recent: deque[dict] = deque(maxlen=window)

    def __call__(self, rollouts: list[Rollout], texts, log_metric=None, trainer_state=None) -> None:
        step = trainer_state.global_step if trainer_state is not None else None
        records = [{**r.to_dict(), "step": step, "completion": text} for r, text in zip(rollouts, texts)]
        with self.path.open("a") as f:
            f.writelines(json.dumps(record) + "\n" for record in records)
        self.recent.extend(records)
        if log_metric is not None:
            for name, value in coupling(list(self.recent)).items():
                if name != "n" and not name.startswith("rate/") and math.isfinite(value):
                    log_metric(f"coupling/{name}", value)


def make_trainer(model, processor, rows, task: Task, config, alpha: float, perception_reward: str, out: Path,
                 peft_config=None):
    """A GRPOTrainer whose reward weights come from α and the chosen perception reward."""
    from trl import GRPOTrainer

    suite = RewardSuite(task, alpha, perception_reward, on_scored=RolloutLog(out))
    config.reward_weights = suite.weights()
    return GRPOTrainer(model=model, reward_funcs=suite.functions(), args=config, train_dataset=rl_dataset(rows),
                       processing_class=processor, peft_config=peft_config)

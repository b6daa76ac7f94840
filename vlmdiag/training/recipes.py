"""The two recipes end to end: load, configure TRL, train, save a checkpoint `vlmdiag eval` loads.

Each run writes into `out`: the checkpoint (model + processor), `recipe.json` (the arguments),
and `log_history.json` (TRL's per-step logs: losses, λ, rewards, coupling).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from vlmdiag.tasks import get_task
from vlmdiag.training.data import load_rows, single_task
from vlmdiag.training.models import Tuning, freeze_vision, load_model, save_checkpoint


@dataclass(frozen=True)
class Schedule:
    """Optimisation settings shared by both recipes."""

    max_steps: int = -1
    epochs: float = 1.0
    batch_size: int = 4
    grad_accum: int = 1
    learning_rate: float = 1e-5
    seed: int = 0
    logging_steps: int = 10
    limit: int | None = None

    def trainer_args(self, out: Path) -> dict:
        import torch

        cuda = torch.cuda.is_available()
        return dict(output_dir=str(out), max_steps=self.max_steps, num_train_epochs=self.epochs,
                    per_device_train_batch_size=self.batch_size, gradient_accumulation_steps=self.grad_accum,
                    learning_rate=self.learning_rate, seed=self.seed, logging_steps=self.logging_steps,
                    save_strategy="no", report_to=[], use_cpu=not cuda,
                    bf16=cuda and torch.cuda.is_bf16_supported())


@dataclass(frozen=True)
class SFTOptions:
    loss: str = "token"
    lam: float = 0.5
    ngdiff_every: int = 1
    ngdiff_smoothing: float = 0.0
    ngdiff_clamp: tuple[float, float] = (0.0, 1.0)
    max_length: int | None = None


@dataclass(frozen=True)
class GRPOOptions:
    alpha: float = 0.0
    perception_reward: str = "none"
    num_generations: int = 8
    max_completion_length: int = 2048
    temperature: float = 1.0
    beta: float = 0.0
    use_vllm: bool = False


def _prepare(model_name: str, tuning: Tuning):
    model, processor = load_model(model_name)
    if tuning.freeze_vision and tuning.lora_rank <= 0:
        freeze_vision(model)
    return model, processor


def _finish(trainer, processor, out: Path, arguments: dict) -> Path:
    trainer.train()
    save_checkpoint(trainer.model, processor, out)
    (out / "recipe.json").write_text(json.dumps(arguments, indent=2, default=str) + "\n")
    (out / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1) + "\n")
    return out


def run_sft(model_name: str, data: str, out: Path, options: SFTOptions, tuning: Tuning, schedule: Schedule) -> Path:
    from vlmdiag.training.collate import SpanCollator
    from vlmdiag.training.sft import SpanSFTConfig, SpanSFTTrainer

    config = SpanSFTConfig(**schedule.trainer_args(out), span_loss=options.loss, span_lambda=options.lam,
                           ngdiff_every=options.ngdiff_every, ngdiff_smoothing=options.ngdiff_smoothing,
                           ngdiff_low=options.ngdiff_clamp[0], ngdiff_high=options.ngdiff_clamp[1],
                           max_length=options.max_length)
    rows = load_rows(data, "train_sft", schedule.limit)
    single_task(rows)
    model, processor = _prepare(model_name, tuning)
    trainer = SpanSFTTrainer(model=model, args=config, train_dataset=rows, processing_class=processor,
                             data_collator=SpanCollator(processor, options.max_length),
                             peft_config=tuning.peft_config())
    arguments = {"recipe": "sft", "model": model_name, "data": data, **asdict(options), **asdict(tuning),
                 **asdict(schedule)}
    return _finish(trainer, processor, out, arguments)


def run_grpo(model_name: str, data: str, out: Path, options: GRPOOptions, tuning: Tuning,
             schedule: Schedule) -> Path:
    from trl import GRPOConfig

    from vlmdiag.training.grpo import make_trainer
    from vlmdiag.training.rewards import check_choice

    check_choice(options.alpha, options.perception_reward)
    rows = load_rows(data, "train_rl", schedule.limit)
    task = get_task(single_task(rows))
    config = GRPOConfig(**schedule.trainer_args(out), num_generations=options.num_generations,
                        max_completion_length=options.max_completion_length, temperature=options.temperature,
                        beta=options.beta, use_vllm=options.use_vllm)
    model, processor = _prepare(model_name, tuning)
    trainer = make_trainer(model, processor, rows, task, config, options.alpha, options.perception_reward, out,
                           peft_config=tuning.peft_config())
    arguments = {"recipe": "grpo", "model": model_name, "data": data, **asdict(options), **asdict(tuning),
                 **asdict(schedule)}
    return _finish(trainer, processor, out, arguments)

"""`vlmdiag train {sft,grpo}` and `vlmdiag diagnose {tokens,coupling}`.

Mounted on the main app with ``app.add_typer(train_app, name="train")`` and
``app.add_typer(diagnose_app, name="diagnose")``. Heavy imports (torch, TRL) happen inside the
commands, so `vlmdiag --help` stays fast and works without the training extra.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from vlmdiag.errors import VlmdiagError

train_app = typer.Typer(help="Post-training recipes: span-reweighted SFT and perception-aware GRPO.",
                        no_args_is_help=True)
diagnose_app = typer.Typer(help="Where the supervision and the reward put perception.", no_args_is_help=True)
out_console = Console()
err = Console(stderr=True)

Model = typer.Option(..., help="Hub id or local folder of an image-text-to-text model.")
Data = typer.Option(..., help="A `vlmdiag generate` folder or a Hub dataset id.")
Out = typer.Option(..., help="Output folder for the checkpoint and logs.")
Overwrite = typer.Option(False, help="Write into an output folder that already has files.")
LoraRank = typer.Option(0, help="LoRA rank; 0 trains all weights.")
LoraAlpha = typer.Option(32, help="LoRA alpha.")
FreezeVision = typer.Option(False, help="Keep the vision encoder's weights fixed.")
Epochs = typer.Option(1.0, help="Passes over the split (ignored when --max-steps is set).")
MaxSteps = typer.Option(-1, help="Optimizer steps; -1 runs --epochs.")
BatchSize = typer.Option(4, help="Rows per device per micro-batch.")
GradAccum = typer.Option(1, help="Micro-batches per optimizer step.")
LearningRate = typer.Option(1e-5, "--lr", help="Peak learning rate.")
Limit = typer.Option(None, help="Use only the first N rows of the split.")
Seed = typer.Option(0, help="Seed for data order and initialisation.")
LoggingSteps = typer.Option(10, help="Log every N optimizer steps.")


def _out_folder(out: Path, overwrite: bool) -> Path:
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise VlmdiagError(f"{out} is not empty; pass --overwrite to write into it")
    return out


def _clamp(text: str) -> tuple[float, float]:
    from vlmdiag.tasks.base import parse_range

    return parse_range(text, float)


@train_app.command()
def sft(
    model: str = Model,
    data: str = Data,
    out: Path = Out,
    loss: str = typer.Option("token", help="token (baseline), span (λ·Lp + (1−λ)·Lr) or ngdiff (λ from gradient norms)."),
    lam: float = typer.Option(0.5, help="λ, the perception weight of --loss span (initial λ for ngdiff)."),
    ngdiff_every: int = typer.Option(1, help="Refresh NGDiff's λ every k optimizer steps."),
    ngdiff_smoothing: float = typer.Option(0.0, help="Moving-average weight of the previous λ (0 = none)."),
    ngdiff_clamp: str = typer.Option("0-1", help="Range λ is clamped to, e.g. 0.1-0.9."),
    max_length: Optional[int] = typer.Option(None, help="Truncate sequences to this many tokens."),
    lora_rank: int = LoraRank, lora_alpha: int = LoraAlpha, freeze_vision: bool = FreezeVision,
    epochs: float = Epochs, max_steps: int = MaxSteps, batch_size: int = BatchSize, grad_accum: int = GradAccum,
    learning_rate: float = LearningRate, limit: Optional[int] = Limit, seed: int = Seed,
    logging_steps: int = LoggingSteps, overwrite: bool = Overwrite,
):
    """Supervised fine-tuning on train_sft with the perception / reasoning spans weighted as asked."""
    from vlmdiag.training.models import Tuning
    from vlmdiag.training.recipes import Schedule, SFTOptions, run_sft

    options = SFTOptions(loss, lam, ngdiff_every, ngdiff_smoothing, _clamp(ngdiff_clamp), max_length)
    schedule = Schedule(max_steps, epochs, batch_size, grad_accum, learning_rate, seed, logging_steps, limit)
    folder = run_sft(model, data, _out_folder(out, overwrite), options, Tuning(lora_rank, lora_alpha, freeze_vision),
                     schedule)
    err.print(f"wrote checkpoint {folder}")


@train_app.command()
def grpo(
    model: str = Model,
    data: str = Data,
    out: Path = Out,
    alpha: float = typer.Option(0.0, help="Weight α of the perception reward: R = α·perception + (1−α)·a."),
    perception_reward: str = typer.Option("none", help="gt, majority, consistency, format or none."),
    num_generations: int = typer.Option(8, help="Completions per prompt (the GRPO group)."),
    max_completion_length: int = typer.Option(2048, help="Longest completion, in tokens."),
    temperature: float = typer.Option(1.0, help="Sampling temperature of the rollouts."),
    beta: float = typer.Option(0.0, help="KL coefficient against the reference model."),
    vllm: bool = typer.Option(False, help="Generate rollouts with vLLM (GPU)."),
    lora_rank: int = LoraRank, lora_alpha: int = LoraAlpha, freeze_vision: bool = FreezeVision,
    epochs: float = Epochs, max_steps: int = MaxSteps, batch_size: int = BatchSize, grad_accum: int = GradAccum,
    learning_rate: float = typer.Option(1e-6, "--lr", help="Peak learning rate."), limit: Optional[int] = Limit,
    seed: int = Seed, logging_steps: int = LoggingSteps, overwrite: bool = Overwrite,
):
    """GRPO on train_rl with end-to-end and perception rewards; rollouts saved for `diagnose coupling`."""
    from vlmdiag.training.models import Tuning
    from vlmdiag.training.recipes import GRPOOptions, Schedule, run_grpo

    options = GRPOOptions(alpha, perception_reward, num_generations, max_completion_length, temperature, beta, vllm)
    schedule = Schedule(max_steps, epochs, batch_size, grad_accum, learning_rate, seed, logging_steps, limit)
    folder = run_grpo(model, data, _out_folder(out, overwrite), options, Tuning(lora_rank, lora_alpha, freeze_vision),
                      schedule)
    err.print(f"wrote checkpoint {folder} and rollouts {folder / 'rollouts.jsonl'}")


@diagnose_app.command()
def tokens(
    model: str = typer.Option(..., help="Model (or just its processor) whose tokenizer counts the tokens."),
    data: List[str] = typer.Option(..., help="Dataset folder or Hub id; repeat for several tasks."),
    split: str = typer.Option("train_sft", help="Split with responses."),
    limit: int = typer.Option(200, help="Rows per dataset."),
    with_loss: bool = typer.Option(False, help="Also run the model and report perception's share of the loss."),
    plot: Path = typer.Option(Path("perception-tokens.png"), help="Where to write the plot."),
):
    """Share of perception tokens in SFT responses, and of the loss they carry."""
    from vlmdiag.training.data import load_rows
    from vlmdiag.training.models import load_model
    from vlmdiag.training.tokens import plot_shares, token_shares

    if with_loss:
        network, processor = load_model(model)
        network.eval()
    else:
        from transformers import AutoProcessor

        network, processor = None, AutoProcessor.from_pretrained(model)
    shares = {}
    for source in data:
        shares.update(token_shares(load_rows(source, split, limit), processor, network))
    table = Table("task", "rows", "perception tokens", "response tokens", "token share", "loss share")
    for task, s in sorted(shares.items()):
        loss = "-" if s.loss_share is None else f"{100 * s.loss_share:.2f}%"
        table.add_row(task, str(s.rows), str(s.perception_tokens), str(s.response_tokens),
                      f"{100 * s.token_share:.2f}%", loss)
    out_console.print(table)
    err.print(f"wrote {plot_shares(shares, plot)}")


@diagnose_app.command("coupling")
def coupling_command(
    rollouts: Path = typer.Argument(..., help="rollouts.jsonl, or a folder searched for them (a `train grpo` --out)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
):
    """Correlation of the reward with perception and with reasoning correctness, and of each surrogate with perception."""
    from vlmdiag.training.coupling import by_task, read_rollouts

    tables = by_task(read_rollouts(rollouts))
    if as_json:
        clean = {t: {k: (None if math.isnan(v) else v) for k, v in s.items()} for t, s in tables.items()}
        print(json.dumps(clean, indent=2))
        return
    names = [k for k in next(iter(tables.values())) if k != "n"]
    table = Table("statistic", *tables)
    table.add_row("rollouts", *(str(int(s["n"])) for s in tables.values()))
    for name in names:
        table.add_row(name, *("n/a" if math.isnan(s[name]) else f"{s[name]:.3f}" for s in tables.values()))
    out_console.print(table)

"""Step time of NGDiff relative to the fixed-λ span loss, on the tiny Qwen2-VL-style model.

Targets (issue 6): at most 1.8x with λ refreshed every step, at most 1.15x refreshed every 8 steps.

The variants run in lockstep: optimizer step i of every variant is timed back to back before step
i + 1 of any, on the same batch, so load from other processes on a shared machine falls on all of
them alike. A step is what the trainer does per optimizer step: its step-wide span counts, its
training_step (forward and backward pass(es)) and the optimizer update. Ratios use the mean over
whole multiples of 8 steps, so NGDiff k=8 is charged for its refresh steps.

    python benchmarks/bench_ngdiff.py [--steps 32] [--batch 4] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

VARIANTS = {"span": dict(span_loss="span", span_lambda=0.2),
            "ngdiff k=1": dict(span_loss="ngdiff", ngdiff_every=1),
            "ngdiff k=8": dict(span_loss="ngdiff", ngdiff_every=8)}
WARMUP = 2


def make_trainer(model_dir: Path, rows, settings: dict, batch: int, out: Path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vlmdiag.training.collate import SpanCollator
    from vlmdiag.training.sft import SpanSFTConfig, SpanSFTTrainer

    processor = AutoProcessor.from_pretrained(model_dir)
    config = SpanSFTConfig(output_dir=str(out), max_steps=10**6, per_device_train_batch_size=batch, use_cpu=True,
                           bf16=False, report_to=[], save_strategy="no", max_length=None, learning_rate=1e-4,
                           seed=0, **settings)
    trainer = SpanSFTTrainer(model=AutoModelForImageTextToText.from_pretrained(model_dir), args=config,
                             train_dataset=rows, processing_class=processor, data_collator=SpanCollator(processor))
    trainer.create_optimizer_and_scheduler(num_training_steps=10**6)
    return trainer


def timed_step(trainer, batch) -> float:
    """One optimizer step as the trainer's loop runs it, without data loading."""
    import torch

    start = time.perf_counter()
    batches, num_items = trainer.get_batch_samples(iter([dict(batch)]), 1, torch.device("cpu"))
    trainer.training_step(trainer.model, batches[0], num_items)
    trainer.optimizer.step()
    trainer.model.zero_grad(set_to_none=True)
    trainer.state.global_step += 1
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=32, help="timed steps per variant (a multiple of 8)")
    parser.add_argument("--batch", type=int, default=4, help="rows per step")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()

    import torch
    from transformers.utils import logging

    from vlmdiag.hub.build import Plan, generate_dataset
    from vlmdiag.tasks import get_task
    from vlmdiag.testing import tiny_qwen2vl
    from vlmdiag.training.collate import SpanCollator
    from vlmdiag.training.data import load_rows

    logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = tiny_qwen2vl(root / "model")
        task = get_task("graph")
        data = generate_dataset(Plan("graph", task.config_cls(), 0, {"test": 0, "train_sft": args.batch,
                                                                      "train_rl": 0}), root / "graph")
        rows = load_rows(str(data), "train_sft")
        trainers = {name: make_trainer(model_dir, rows, s, args.batch, root / "out") for name, s in VARIANTS.items()}
        batch = SpanCollator(trainers["span"].processing_class)([rows[i] for i in range(len(rows))])
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for step in range(WARMUP + args.steps):
            for name, trainer in trainers.items():
                elapsed = timed_step(trainer, batch)
                if step >= WARMUP:
                    times[name].append(elapsed)
    tokens = int(batch["attention_mask"].sum())
    print(f"batch {args.batch} rows ({tokens} tokens), {args.steps} timed steps per variant after {WARMUP} warm-up, "
          f"{args.threads} torch thread(s), variants in lockstep")
    print(f"{'variant':<12} {'mean step (ms)':>15} {'median (ms)':>12} {'vs span (mean)':>15} {'vs span (median)':>17}")
    mean_base, median_base = statistics.fmean(times["span"]), statistics.median(times["span"])
    for name, values in times.items():
        mean, median = statistics.fmean(values), statistics.median(values)
        print(f"{name:<12} {1000 * mean:>15.1f} {1000 * median:>12.1f} {mean / mean_base:>14.2f}x "
              f"{median / median_base:>16.2f}x")


if __name__ == "__main__":
    main()

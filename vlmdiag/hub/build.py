"""Build a task's dataset folder: Parquet shards per split, a card, and a manifest.

Two passes. Problems are sampled first (item i of a run is a pure function of (seed, i, attempt)) and
de-duplicated in index order, so no problem appears twice whatever the worker count. Rows (image,
trace, text) are then made shard by shard in worker processes; each shard is written atomically and
skipped if present, so a killed run resumes where it stopped. Everything happens in ``<out>.partial``,
renamed to ``<out>`` only once complete.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable

import datasets

from vlmdiag import __version__
from vlmdiag.errors import BudgetExceeded, VlmdiagError
from vlmdiag.seeding import PROBLEM, RENDER, rng_for
from vlmdiag.tasks import Sample, Task, TaskConfig, get_task

SPLITS = ("test", "train_sft", "train_rl")
SHARD_ROWS = 500
MAX_DUPLICATE_RETRIES = 100
MANIFEST = "generation.json"


@dataclass(frozen=True)
class Plan:
    """Everything that determines the output bytes."""

    task: str
    config: TaskConfig
    seed: int
    sizes: dict[str, int]

    def manifest(self) -> dict:
        return {
            "task": self.task,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "splits": self.sizes,
            "shard_rows": SHARD_ROWS,
            "vlmdiag_version": __version__,
        }


def split_sizes(n: int, test_size: int | None = None, rl_size: int | None = None) -> dict[str, int]:
    """Default: 10% test, the rest halved between SFT and RL."""
    if n <= 0:
        raise VlmdiagError(f"--n must be positive, got {n}")
    test = n // 10 if test_size is None else test_size
    rl = (n - test) // 2 if rl_size is None else rl_size
    if test < 0 or rl < 0 or test + rl > n:
        raise VlmdiagError(f"split sizes do not fit in --n {n}: test {test} + train_rl {rl} > {n}")
    return {"test": test, "train_sft": n - test - rl, "train_rl": rl}


def features(task: Task) -> datasets.Features:
    span = datasets.Value("int32")
    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "task": datasets.Value("string"),
            "index": datasets.Value("int64"),
            "query": datasets.Value("string"),
            "image": datasets.Image(),
            "ground_truth": datasets.Value("string"),
            "p_star": datasets.Value("string"),
            "response": datasets.Value("string"),
            "perception_start": span,
            "perception_end": span,
            "reasoning_start": span,
            "reasoning_end": span,
            **task.meta_features,
        }
    )


def make_sample(task: Task, config: TaskConfig, seed: int, index: int, attempt: int = 0) -> Sample:
    return task.sample(config, rng_for(seed, index, attempt, PROBLEM))


def make_row(task: Task, config: TaskConfig, seed: int, index: int, sample: Sample | None = None,
             attempt: int = 0, with_response: bool = True) -> dict:
    """One dataset row. Image and trace depend only on (seed, index, attempt) and the problem."""
    from vlmdiag.renderers import encode_png

    sample = sample or make_sample(task, config, seed, index, attempt)
    image, render_meta = task.render(sample, config, rng_for(seed, index, attempt, RENDER))
    row = {
        "id": task.canonical_id(sample.problem),
        "task": task.name,
        "index": index,
        "query": task.prompt(sample.problem),
        "image": {"bytes": encode_png(image), "path": None},
        "ground_truth": task.ground_truth(sample.problem),
        "p_star": task.perception_text(sample.problem),
        "response": "",
        "perception_start": None,
        "perception_end": None,
        "reasoning_start": None,
        "reasoning_end": None,
    }
    if with_response:
        trace = task.trace(sample.problem)
        row["response"] = trace.text
        row["perception_start"], row["perception_end"] = trace.perception_span
        row["reasoning_start"], row["reasoning_end"] = trace.reasoning_span
    meta = {**sample.meta, **render_meta}
    row.update({key: meta[key] for key in task.meta_features})
    return row


# -- pass 1: problems --------------------------------------------------------------------------

def _sample_chunk(args: tuple) -> list[tuple[int, Sample]]:
    task_name, config, seed, indices = args
    task = get_task(task_name)
    return [(i, make_sample(task, config, seed, i)) for i in indices]


def sample_problems(plan: Plan, pool, progress: Callable[[int], None]) -> list[tuple[int, Sample]]:
    """Problems for every index, first attempts in parallel, duplicates re-drawn in index order."""
    n = sum(plan.sizes.values())
    chunks = [range(s, min(s + SHARD_ROWS, n)) for s in range(0, n, SHARD_ROWS)]
    jobs = [(plan.task, plan.config, plan.seed, chunk) for chunk in chunks]
    samples: list[Sample] = []
    for result in _map(pool, _sample_chunk, jobs):
        samples.extend(s for _, s in result)
        progress(len(result))
    task = get_task(plan.task)
    seen: set[str] = set()
    out = []
    for index, sample in enumerate(samples):
        attempt = 0
        while (key := task.canonical_id(sample.problem)) in seen:
            attempt += 1
            if attempt > MAX_DUPLICATE_RETRIES:
                raise BudgetExceeded(
                    f"could not find {n} distinct {plan.task} problems with this config "
                    f"(only {len(seen)} found); widen the ranges or lower --n"
                )
            sample = make_sample(task, plan.config, plan.seed, index, attempt)
        seen.add(key)
        out.append((attempt, sample))
    return out


# -- pass 2: rows and shards ---------------------------------------------------------------------

def shard_jobs(plan: Plan) -> list[tuple[str, int, int, range]]:
    """(split, shard number, shard count, global indices) in a fixed order."""
    jobs, start = [], 0
    for split in SPLITS:
        size = plan.sizes[split]
        count = max(1, -(-size // SHARD_ROWS)) if size else 0
        for k in range(count):
            lo = start + k * SHARD_ROWS
            jobs.append((split, k, count, range(lo, min(lo + SHARD_ROWS, start + size))))
        start += size
    return jobs


def shard_path(root: Path, split: str, k: int, count: int) -> Path:
    return root / "data" / f"{split}-{k:05d}-of-{count:05d}.parquet"


def _write_shard(args: tuple) -> int:
    task_name, config, seed, path, split, items = args
    task = get_task(task_name)
    datasets.disable_progress_bars()  # one bar for the whole run is ours to draw
    rows = [
        make_row(task, config, seed, index, sample, attempt, with_response=split == "train_sft")
        for index, attempt, sample in items
    ]
    table = datasets.Dataset.from_list(rows, features=features(task))
    tmp = Path(f"{path}.tmp-{os.getpid()}")
    table.to_parquet(str(tmp))
    os.replace(tmp, path)
    return len(rows)


def _map(pool, fn, jobs: list) -> Iterable:
    return pool.imap(fn, jobs) if pool else map(fn, jobs)


def generate_dataset(plan: Plan, out: Path, workers: int = 1, overwrite: bool = False,
                     progress_factory=None) -> Path:
    """Write the dataset folder; returns its path. Resumes a matching ``<out>.partial``."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise VlmdiagError(f"{out} already exists; pass --overwrite to replace it")
    partial = out.with_name(out.name + ".partial")
    _prepare_partial(partial, plan)
    jobs = shard_jobs(plan)
    todo = [job for job in jobs if not shard_path(partial, *job[:3]).exists()]
    n = sum(plan.sizes.values())
    progress_factory = progress_factory or _silent_progress
    ctx = get_context("spawn")
    pool = ctx.Pool(workers) if workers > 1 else None
    try:
        if todo:
            with progress_factory("sampling problems", n) as advance:
                samples = sample_problems(plan, pool, advance)
            done = n - sum(len(job[3]) for job in todo)
            with progress_factory("rendering and writing", n, done) as advance:
                work = [
                    (plan.task, plan.config, plan.seed, shard_path(partial, *job[:3]), job[0],
                     [(i, *samples[i]) for i in job[3]])
                    for job in todo
                ]
                for count in _map(pool, _write_shard, work):
                    advance(count)
    finally:
        if pool:
            pool.close()
            pool.join()
    from vlmdiag.hub.card import write_card

    write_card(partial, plan)
    if out.exists():
        shutil.rmtree(out)
    os.replace(partial, out)
    return out


def _prepare_partial(partial: Path, plan: Plan) -> None:
    """Keep a partial folder only if it was started with exactly this plan."""
    manifest = partial / MANIFEST
    if partial.exists():
        try:
            same = json.loads(manifest.read_text()) == plan.manifest()
        except (OSError, ValueError):
            same = False
        if same:
            for leftover in (partial / "data").glob("*.tmp-*"):  # a shard a killed worker was writing
                leftover.unlink()
            return
        shutil.rmtree(partial)
    (partial / "data").mkdir(parents=True)
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(plan.manifest(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, manifest)


class _silent_progress:
    def __init__(self, description: str, total: int, completed: int = 0):
        pass

    def __enter__(self):
        return lambda count: None

    def __exit__(self, *exc):
        return False

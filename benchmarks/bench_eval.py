"""Evaluation speed: harness overhead over a bare vLLM loop, and scoring throughput.

1. Harness vs bare engine, one engine, same prompts, images and sampling. The bare loop decodes
   each row's image once and makes two `LLM.chat` calls (end-to-end, then prefilled
   counterfactual). The harness is `evaluate` with the vllm backend: read rows, hash, build
   requests, decode, generate, parse, verify, score, write fsynced JSONL and results. Prefix
   caching is off so repeats cost the same; the two alternate and the median of each is
   reported. Target: overhead <= 10%.
2. Scoring alone (parse + verify + perception score per record), one process: responses/s.
   Target: >= 20,000 per second per core.

Run: python benchmarks/bench_eval.py [--rows 64] [--repeats 3] [--max-tokens 64]
Needs the ML stack (.ci/install-ml). Engine start-up (~25 s) is excluded from both timings.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def bare_loop(llm, requests, sampling) -> float:
    from vllm import SamplingParams

    from vlmdiag.eval.backends.vllm import conversation

    groups = [[r for r in requests if r.prefill is None], [r for r in requests if r.prefill is not None]]
    start = time.perf_counter()
    images: dict = {}  # as a bare script holds each row's decoded image once
    for prefill, group in enumerate(groups):
        conv = [conversation(r, images) for r in group]
        params = [SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p,
                                 max_tokens=sampling.max_tokens, seed=r.seed) for r in group]
        llm.chat(conv, params, use_tqdm=False, continue_final_message=bool(prefill), add_generation_prompt=not prefill)
    return time.perf_counter() - start


def harness(backend, data, spec, out: Path) -> float:
    from vlmdiag.eval.runner import evaluate

    start = time.perf_counter()
    evaluate(backend, data, spec, out)
    return time.perf_counter() - start


def engine_comparison(args, work: Path) -> None:
    from vlmdiag.eval.backends.base import Sampling
    from vlmdiag.eval.backends.vllm import VllmBackend
    from vlmdiag.eval.data import load_eval_data
    from vlmdiag.eval.requests import MODES, PREFILL, build_requests
    from vlmdiag.eval.runner import EvalSpec
    from vlmdiag.tasks import get_task
    from vlmdiag.testing import tiny_dataset, tiny_qwen2vl

    model = tiny_qwen2vl(work / "model")
    data = load_eval_data(str(tiny_dataset(work / "graph", "graph", test_rows=args.rows)))
    sampling = Sampling(temperature=0.0, max_tokens=args.max_tokens)
    spec = EvalSpec(variant=PREFILL, sampling=sampling, batch_size=2 * args.rows)
    backend = VllmBackend(str(model), engine={"max_model_len": 2048, "enforce_eager": True, "dtype": "float32",
                                              "enable_prefix_caching": False})
    requests = build_requests(data, get_task("graph"), MODES, PREFILL, sampling.seed)
    bare_loop(backend.llm, requests[:4], sampling)  # warm-up
    bare, ours = [], []
    for i in range(args.repeats):
        bare.append(bare_loop(backend.llm, requests, sampling))
        ours.append(harness(backend, data, spec, work / f"runs{i}"))
    b, h = statistics.median(bare), statistics.median(ours)
    print(f"engine: {len(requests)} requests ({args.rows} rows x end-to-end + prefill), max_tokens {args.max_tokens}")
    print(f"  bare LLM.chat loop : median {b:.3f} s  (runs: {', '.join(f'{x:.3f}' for x in bare)})")
    print(f"  vlmdiag evaluate   : median {h:.3f} s  (runs: {', '.join(f'{x:.3f}' for x in ours)})")
    print(f"  harness overhead   : {100 * (h - b) / b:+.1f}% of the bare engine's wall time (target <= 10%)")
    backend.close()


def scoring_throughput(seconds: float) -> None:
    from vlmdiag.eval.backends.base import Generation
    from vlmdiag.eval.requests import Request
    from vlmdiag.eval.scoring import new_record, score_record
    from vlmdiag.seeding import rng_for
    from vlmdiag.tasks import get_task

    print("scoring (one process): correct, half-cut and junk responses in equal parts")
    for name in ("graph", "sudoku"):
        task = get_task(name)
        problems = [task.sample(task.config_cls(), rng_for(1, i)).problem for i in range(40)]
        request = Request(0, "x", "end_to_end", None, "", None, None, 0)
        records = []
        for problem in problems:
            text = task.trace(problem).text
            for response in (text, text[: len(text) // 2], "I cannot read the image."):
                records.append((problem, new_record(request, 0, Generation(texts=(response,)), "", {})))
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for problem, record in records:
                score_record(task, dict(record), problem)
            done += len(records)
        rate = done / (time.perf_counter() - start)
        print(f"  {name:7s}: {rate:>9,.0f} responses/s (target >= 20,000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--scoring-seconds", type=float, default=3.0)
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # keep the figures readable
    print(f"machine: {os.cpu_count()} cores (shared with other work: treat figures as indicative)")
    scoring_throughput(args.scoring_seconds)
    with tempfile.TemporaryDirectory() as tmp:
        engine_comparison(args, Path(tmp))


if __name__ == "__main__":
    main()

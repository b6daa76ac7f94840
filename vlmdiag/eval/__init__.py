"""Evaluation harness: end-to-end (a), perception (a_p) and counterfactual reasoning (a_r) accuracy.

Python use mirrors the command line::

    from vlmdiag.eval import EvalSpec, Sampling, evaluate, load_eval_data, make_backend

    data = load_eval_data("data/graph", split="test")
    backend = make_backend("vllm", model="Qwen/Qwen3-VL-8B-Instruct", engine={"tensor_parallel_size": 2})
    run_dir = evaluate(backend, data, EvalSpec(sampling=Sampling(max_tokens=4096)), "runs/qwen3vl8b")
"""
from vlmdiag.eval.backends import make_backend
from vlmdiag.eval.backends.base import Sampling
from vlmdiag.eval.data import load_eval_data
from vlmdiag.eval.runner import EvalSpec, evaluate, rescore

__all__ = ["EvalSpec", "Sampling", "evaluate", "load_eval_data", "make_backend", "rescore"]

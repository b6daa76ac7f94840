"""Backends that turn requests into responses: vllm (default), openai, hf, replay."""
from __future__ import annotations

from pathlib import Path

from vlmdiag.errors import VlmdiagError
from vlmdiag.eval.backends.base import Backend, Generation, Sampling


def make_backend(name: str, *, model: str | None = None, revision: str | None = None, engine: dict | None = None,
                 base_url: str = "", api_key_env: str = "OPENAI_API_KEY", concurrency: int = 16, retries: int = 5,
                 timeout: float = 600.0, responses: Path | None = None, prefill: bool = False) -> Backend:
    """Build a backend from command-line options; options another backend would need are refused."""
    if name == "replay":
        if responses is None:
            raise VlmdiagError("the replay backend needs --responses FILE.jsonl")
        from vlmdiag.eval.backends.replay import ReplayBackend

        return ReplayBackend(responses, model)
    if responses is not None:
        raise VlmdiagError("--responses is for --backend replay")
    if not model:
        raise VlmdiagError(f"the {name} backend needs --model")
    if name == "vllm":
        from vlmdiag.eval.backends.vllm import VllmBackend

        return VllmBackend(model, revision, engine)
    if engine:
        raise VlmdiagError(f"engine options ({', '.join(sorted(engine))}) apply to the vllm backend only")
    if name == "openai":
        from vlmdiag.eval.backends.openai import OpenAIBackend

        return OpenAIBackend(model, base_url, api_key_env, concurrency, retries, timeout, prefill, revision)
    if name == "hf":
        from vlmdiag.eval.backends.hf import HFBackend

        return HFBackend(model, revision)
    raise VlmdiagError(f"unknown backend {name!r} (choose from vllm, openai, hf, replay)")


__all__ = ["Backend", "Generation", "Sampling", "make_backend"]

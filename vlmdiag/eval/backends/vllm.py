"""vLLM's offline engine: `LLM.chat` over whole batches, images passed as PIL objects.

Prefill requests (counterfactual, oracle perception) go in their own `chat` call with
``continue_final_message=True, add_generation_prompt=False``: the model continues the assistant
turn exactly where a correct response's perception ends.

``data_parallel_size`` N > 1 (which `LLM` refuses in one process) runs N independent engines in
worker processes, each on its own ``tensor_parallel_size`` GPUs, and splits every batch between
them; per-request seeds keep the outputs independent of that split.
"""
from __future__ import annotations

import time
from functools import partial

from vlmdiag.errors import VlmdiagError
from vlmdiag.eval.backends.base import Backend, Generation, Sampling
from vlmdiag.eval.provenance import model_revision
from vlmdiag.eval.requests import Request

# Engine options that change how fast or where the model runs, not what it says.
PLACEMENT = {"tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size", "gpu_memory_utilization",
             "enforce_eager", "swap_space", "cpu_offload_gb", "max_num_seqs", "max_num_batched_tokens"}


class VllmBackend(Backend):
    name = "vllm"
    supports_prefill = True
    default_batch_size = 512

    def __init__(self, model: str, revision: str | None = None, engine: dict | None = None):
        try:
            import vllm  # noqa: F401 - fail early with an install hint
        except ImportError:
            raise VlmdiagError('the vllm backend needs vLLM: pip install "vlmdiag[vllm]"') from None
        self.model, self.revision = model, revision
        self.engine = {"limit_mm_per_prompt": {"image": 1}, **(engine or {})}
        options = {k: v for k, v in self.engine.items() if k != "data_parallel_size"}
        ranks = int(self.engine.get("data_parallel_size", 1))
        if ranks > 1:
            from vlmdiag.eval.backends.vllm_dp import DataParallelEngines

            engines = DataParallelEngines(ranks, model, revision, options)
            self._generate, self._close = engines.generate, engines.close
        else:
            self.llm = start_engine(model, revision, options)
            self._generate, self._close = partial(chat_generate, self.llm), lambda: None

    def identity(self) -> dict:
        output_relevant = {k: v for k, v in self.engine.items() if k not in PLACEMENT}
        return {"model": self.model, "revision": model_revision(self.model, self.revision), "engine": output_relevant}

    def settings(self) -> dict:
        return {"engine": {k: v for k, v in self.engine.items() if k in PLACEMENT}}

    def generate(self, requests: list[Request], sampling: Sampling) -> list[Generation]:
        return self._generate(requests, sampling)

    def close(self) -> None:
        self._close()
        self.__dict__.pop("llm", None)
        self._generate = self._close = None


def start_engine(model: str, revision: str | None, options: dict):
    from vllm import LLM

    try:
        return LLM(model=model, revision=revision, **options)
    except TypeError as e:  # an engine option vLLM does not know
        raise VlmdiagError(f"vLLM rejected the engine options: {e}") from None


def chat_generate(llm, requests: list[Request], sampling: Sampling) -> list[Generation]:
    """One Generation per request, in order: plain requests in one `chat` call, prefilled in another."""
    results: list[Generation | None] = [None] * len(requests)
    images: dict = {}  # a row's image serves several requests (modes): decode it once
    for prefill in (False, True):
        chosen = [i for i, r in enumerate(requests) if (r.prefill is not None) == prefill]
        if chosen:
            for i, gen in zip(chosen, _chat(llm, [requests[i] for i in chosen], sampling, prefill, images)):
                results[i] = gen
    return results


def _chat(llm, requests: list[Request], sampling: Sampling, prefill: bool, images: dict) -> list[Generation]:
    from vllm import SamplingParams

    params = [SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=sampling.max_tokens,
                             n=sampling.n, seed=r.seed) for r in requests]
    start = time.perf_counter()
    outputs = llm.chat([conversation(r, images) for r in requests], params, use_tqdm=False,
                       continue_final_message=prefill, add_generation_prompt=not prefill)
    # The engine batches requests together; each gets an equal share of the call's wall time.
    share = (time.perf_counter() - start) / len(requests)
    return [Generation(texts=tuple(o.text for o in out.outputs), prompt_tokens=len(out.prompt_token_ids or ()),
                       completion_tokens=tuple(len(o.token_ids) for o in out.outputs), latency_s=share)
            for out in outputs]


def conversation(request: Request, images: dict | None = None) -> list[dict]:
    """OpenAI-style messages: image part first (when there is an image), then the prompt.

    ``images`` caches decoded images by their hash across the requests of one call.
    """
    content = [{"type": "text", "text": request.prompt}]
    if request.image is not None:
        cache = {} if images is None else images
        if request.image_hash not in cache:
            cache[request.image_hash] = request.pil()
        content.insert(0, {"type": "image_pil", "image_pil": cache[request.image_hash]})
    messages = [{"role": "user", "content": content}]
    if request.prefill is not None:
        messages.append({"role": "assistant", "content": request.prefill})
    return messages

"""transformers `generate`, one request at a time: for small models and debugging without vLLM."""
from __future__ import annotations

import time

from vlmdiag.errors import VlmdiagError
from vlmdiag.eval.backends.base import Backend, Generation, Sampling, failed
from vlmdiag.eval.provenance import model_revision
from vlmdiag.eval.requests import Request


class HFBackend(Backend):
    name = "hf"
    supports_prefill = True
    default_batch_size = 8

    def __init__(self, model: str, revision: str | None = None):
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError:
            raise VlmdiagError('the hf backend needs torch and transformers: pip install "vlmdiag[eval]"') from None
        self.model_id, self.revision = model, revision
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.processor = AutoProcessor.from_pretrained(model, revision=revision)
        self.model = AutoModelForImageTextToText.from_pretrained(model, revision=revision, dtype="auto")
        self.model.to(self.device).eval()

    def identity(self) -> dict:
        return {"model": self.model_id, "revision": model_revision(self.model_id, self.revision)}

    def settings(self) -> dict:
        return {"device": self.device, "dtype": str(self.model.dtype)}

    def generate(self, requests: list[Request], sampling: Sampling) -> list[Generation]:
        results = []
        for request in requests:
            try:
                results.append(self._one(request, sampling))
            except Exception as e:  # noqa: BLE001 - one bad request (too long, odd image) fails alone
                results.append(failed(e))
        return results

    def _one(self, request: Request, sampling: Sampling) -> Generation:
        import torch

        prefill = request.prefill is not None
        inputs = self.processor.apply_chat_template(
            conversation(request), add_generation_prompt=not prefill, continue_final_message=prefill,
            tokenize=True, return_dict=True, return_tensors="pt").to(self.device)
        sample = sampling.temperature > 0
        options = dict(max_new_tokens=sampling.max_tokens, do_sample=sample, num_return_sequences=sampling.n,
                       temperature=sampling.temperature if sample else None, top_p=sampling.top_p if sample else None,
                       top_k=None, pad_token_id=self.processor.tokenizer.pad_token_id)
        start = time.perf_counter()
        # The request's own seed, without disturbing anyone else's random state.
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(request.seed)
            out = self.model.generate(**inputs, **options)
        latency = time.perf_counter() - start
        new = out[:, inputs["input_ids"].shape[1]:]
        pad = self.processor.tokenizer.pad_token_id
        return Generation(texts=tuple(self.processor.batch_decode(new, skip_special_tokens=True)),
                          prompt_tokens=int(inputs["input_ids"].shape[1]),
                          completion_tokens=tuple(int((row != pad).sum()) for row in new), latency_s=latency)


def conversation(request: Request) -> list[dict]:
    """transformers' chat form: image parts carry the PIL image itself."""
    content = [{"type": "text", "text": request.prompt}]
    if request.image is not None:
        content.insert(0, {"type": "image", "image": request.pil()})
    messages = [{"role": "user", "content": content}]
    if request.prefill is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": request.prefill}]})
    return messages

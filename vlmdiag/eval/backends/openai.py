"""Any OpenAI-compatible chat server (`vllm serve`, SGLang, hosted APIs), over plain HTTP.

Requests run with bounded concurrency; connection failures, 429 and 5xx answers are retried with
exponential backoff; images travel as data URLs. The API key is read from an environment variable
and goes only into the Authorization header: never into records, results or error messages.

Generic servers cannot continue an assistant turn, so the counterfactual variant defaults to
``text``. Asking for ``prefill`` sends vLLM's ``continue_final_message`` extension.
"""
from __future__ import annotations

import base64
import io
import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from vlmdiag.eval.backends.base import Backend, Generation, Sampling, failed
from vlmdiag.eval.requests import Request

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_BACKOFF_S = 30.0


class RequestFailed(Exception):
    """A request the server refused, or could not be reached for, after its retries."""


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, model: str, base_url: str, api_key_env: str = "OPENAI_API_KEY", concurrency: int = 16,
                 retries: int = 5, timeout: float = 600.0, prefill: bool = False, revision: str | None = None):
        self.model, self.url = model, base_url.rstrip("/") + "/chat/completions"
        self.base_url, self.revision = base_url.rstrip("/"), revision
        self.concurrency, self.retries, self.timeout = concurrency, retries, timeout
        self.backoff_s = 0.5  # first wait; doubles per retry up to MAX_BACKOFF_S
        self.supports_prefill = prefill
        self._key = os.environ.get(api_key_env) or None
        self.default_batch_size = 4 * concurrency
        self._pool = ThreadPoolExecutor(max_workers=concurrency)

    def identity(self) -> dict:
        return {"model": self.model, "revision": self.revision, "base_url": self.base_url}

    def settings(self) -> dict:
        return {"concurrency": self.concurrency, "retries": self.retries, "timeout": self.timeout}

    def generate(self, requests: list[Request], sampling: Sampling) -> list[Generation]:
        return list(self._pool.map(lambda r: self._one(r, sampling), requests))

    def _one(self, request: Request, sampling: Sampling) -> Generation:
        body = json.dumps(self.body(request, sampling)).encode()
        start = time.perf_counter()
        try:
            answer = self._post(body)
        except RequestFailed as e:
            return failed(str(e))
        except Exception as e:  # noqa: BLE001 - a malformed answer fails its request alone
            return failed(e)
        latency = time.perf_counter() - start
        choices = sorted(answer.get("choices") or [], key=lambda c: c.get("index", 0))
        if len(choices) != sampling.n:
            return failed(f"server returned {len(choices)} choices, asked for {sampling.n}")
        usage = answer.get("usage") or {}
        # Per-choice token counts exist only for n = 1; the server reports a total.
        completion = (usage["completion_tokens"],) if sampling.n == 1 and "completion_tokens" in usage else ()
        return Generation(texts=tuple((c.get("message") or {}).get("content") or "" for c in choices),
                          prompt_tokens=usage.get("prompt_tokens"), completion_tokens=completion, latency_s=latency)

    def body(self, request: Request, sampling: Sampling) -> dict:
        content = [{"type": "text", "text": request.prompt}]
        if request.image is not None:
            content.insert(0, {"type": "image_url", "image_url": {"url": data_url(request.image)}})
        messages = [{"role": "user", "content": content}]
        body = {"model": self.model, "messages": messages, "temperature": sampling.temperature,
                "top_p": sampling.top_p, "max_tokens": sampling.max_tokens, "n": sampling.n, "seed": request.seed}
        if request.prefill is not None:
            messages.append({"role": "assistant", "content": request.prefill})
            body.update(continue_final_message=True, add_generation_prompt=False)
        return body

    def _post(self, body: bytes) -> dict:
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        attempt = 0
        while True:
            try:
                req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as e:
                if e.code not in RETRY_STATUS or attempt >= self.retries:
                    raise RequestFailed(f"HTTP {e.code}: {_server_message(e)}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                if attempt >= self.retries:
                    raise RequestFailed(f"cannot reach {self.base_url}: {getattr(e, 'reason', e)}") from None
            time.sleep(min(MAX_BACKOFF_S, self.backoff_s * 2 ** attempt))
            attempt += 1

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def data_url(image: bytes) -> str:
    """The stored image as a data URL: PNG and JPEG bytes as they are, anything else as PNG."""
    if image.startswith(b"\x89PNG"):
        return "data:image/png;base64," + base64.b64encode(image).decode()
    if image.startswith(b"\xff\xd8"):
        return "data:image/jpeg;base64," + base64.b64encode(image).decode()
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(image)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _server_message(error: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(error.read() or b"{}")
        message = detail.get("error", {}).get("message") if isinstance(detail.get("error"), dict) else detail.get("message")
    except (ValueError, AttributeError, OSError):
        message = None
    return (message or error.reason or "error").strip().splitlines()[0][:300]

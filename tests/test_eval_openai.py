"""The openai backend: against a scripted HTTP server on 127.0.0.1 (retries, key handling,
concurrency, one bad request) and against a real `vllm serve` with a tiny model."""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vlmdiag.eval.backends.base import Sampling
from vlmdiag.eval.backends.openai import OpenAIBackend
from vlmdiag.eval.data import load_eval_data
from vlmdiag.eval.records import read_records
from vlmdiag.eval.runner import RECORDS, RESULTS, EvalSpec, evaluate
from vlmdiag.testing import tiny_dataset

SECRET = "sk-test-do-not-record-1234"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_eval_data(str(tiny_dataset(tmp_path_factory.mktemp("d") / "graph", "graph", test_rows=4)))


class Scripted(BaseHTTPRequestHandler):
    """Answers chat completions; fails the first `flaky` calls for each prompt with 503, and any
    prompt containing 'REJECT' with 400."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        with server.lock:
            server.bodies.append(body)
            server.auth.add(self.headers.get("Authorization"))
            server.in_flight += 1
            server.peak = max(server.peak, server.in_flight)
            text = body["messages"][0]["content"][-1]["text"]
            server.calls[text] = server.calls.get(text, 0) + 1
            attempt = server.calls[text]
        time.sleep(0.05)
        with server.lock:
            server.in_flight -= 1
        if "REJECT" in text:
            return self.reply(400, {"error": {"message": "prompt is too long for this model"}})
        if attempt <= server.flaky:
            return self.reply(503, {"error": {"message": "busy"}})
        choices = [{"index": i, "message": {"role": "assistant", "content": f"echo {len(text)} #{i}"}}
                   for i in range(body["n"])]
        self.reply(200, {"choices": choices, "usage": {"prompt_tokens": 11, "completion_tokens": 3}})

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    httpd.lock, httpd.bodies, httpd.auth, httpd.calls = threading.Lock(), [], set(), {}
    httpd.in_flight = httpd.peak = httpd.flaky = 0
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def backend_for(server, **kw):
    backend = OpenAIBackend("served-model", f"http://127.0.0.1:{server.server_port}/v1", **kw)
    backend.backoff_s = 0.01
    return backend


def test_retries_busy_answers_sends_images_as_data_urls_and_never_records_the_key(server, data, tmp_path, monkeypatch):
    monkeypatch.setenv("VLMDIAG_TEST_KEY", SECRET)
    server.flaky = 2
    backend = backend_for(server, api_key_env="VLMDIAG_TEST_KEY", concurrency=3, retries=3)
    run = evaluate(backend, data, EvalSpec(sampling=Sampling(n=2)), tmp_path)
    backend.close()
    records = read_records(run / RECORDS)
    assert all(r["error"] is None and r["response"].startswith("echo") for r in records)
    assert {r["k"] for r in records} == {0, 1} and all(r["prompt_tokens"] == 11 for r in records)
    assert server.auth == {f"Bearer {SECRET}"}
    for path in run.iterdir():
        assert SECRET not in path.read_text()
    assert 1 < server.peak <= 3
    images = [b["messages"][0]["content"][0] for b in server.bodies if b["messages"][0]["content"][0]["type"] == "image_url"]
    sent = {base64.b64decode(i["image_url"]["url"].removeprefix("data:image/png;base64,")) for i in images}
    assert sent == {row["bytes"] for row in data.rows["image"]}  # the stored bytes, as they are
    assert json.loads((run / RESULTS).read_text())["run"]["identity"]["counterfactual"] == "text"  # no prefill by default


def test_a_rejected_request_fails_alone_without_retries_and_gives_up_after_the_retry_budget(server, data):
    from vlmdiag.eval.requests import Request

    backend = backend_for(server, retries=2)
    ok = Request(0, "a", "end_to_end", None, "hello", None, None, 1)
    bad = Request(1, "b", "end_to_end", None, "REJECT me", None, None, 2)
    good, rejected = backend.generate([ok, bad], Sampling())
    assert good.texts == ("echo 5 #0",) and rejected.error == "HTTP 400: prompt is too long for this model"
    assert server.calls["REJECT me"] == 1
    server.flaky = 10
    (busy,) = backend.generate([Request(2, "c", "end_to_end", None, "always busy", None, None, 3)], Sampling())
    assert busy.error.startswith("HTTP 503") and server.calls["always busy"] == 3
    backend.close()


def test_unreachable_server_is_recorded_per_request_not_a_crash(data):
    from vlmdiag.eval.requests import Request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    backend = OpenAIBackend("m", f"http://127.0.0.1:{port}/v1", retries=1)
    backend.backoff_s = 0.01
    (gen,) = backend.generate([Request(0, "a", "end_to_end", None, "hi", None, None, 1)], Sampling())
    assert gen.error.startswith("cannot reach")
    backend.close()


def test_explicit_prefill_sends_vllm_continuation_flags(server, data, tmp_path):
    backend = backend_for(server, prefill=True)
    evaluate(backend, data, EvalSpec(modes=("counterfactual",), variant="prefill"), tmp_path)
    backend.close()
    body = server.bodies[0]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["messages"][-1]["role"] == "assistant" and body["messages"][-1]["content"].startswith("Perception:")


# -- a real server ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.vllm
@pytest.mark.slow
def test_against_a_real_vllm_serve_matches_transformers(data, tmp_path):
    pytest.importorskip("vllm", reason="the ML stack (.ci/install-ml) is not installed")
    from vlmdiag.eval.backends.hf import HFBackend
    from vlmdiag.testing import tiny_qwen2vl

    model = tiny_qwen2vl(tmp_path / "model")
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1")
    server = subprocess.Popen(
        # `vllm serve` itself, minus its launcher: the launcher looks up the distribution "vllm",
        # which the CPU build installs as "vllm-cpu".
        [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--served-model-name", "tiny", "--max-model-len", "2048", "--enforce-eager",
         "--dtype", "float32", "--limit-mm-per-prompt", '{"image": 1}'],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_ready(server, port, tmp_path / "serve.log")
        sampling = Sampling(max_tokens=16)
        for variant in ("text", "prefill"):
            backend = OpenAIBackend("tiny", f"http://127.0.0.1:{port}/v1", concurrency=4, prefill=variant == "prefill")
            run = evaluate(backend, data, EvalSpec(variant=variant, sampling=sampling), tmp_path / "runs")
            backend.close()
            records = read_records(run / RECORDS)
            assert len(records) == 2 * len(data.rows) and all(r["error"] is None for r in records)
            assert all(0 < r["completion_tokens"] <= 16 for r in records)
        hf = HFBackend(str(model))
        for r in records[:2]:  # the prefill run: an end-to-end and a counterfactual request
            from vlmdiag.eval.requests import Request

            row = next(i for i, x in enumerate(data.rows["id"]) if x == r["id"])
            req = Request(row, r["id"], r["mode"], r["variant"], data.rows[row]["query"],
                          data.rows[row]["image"]["bytes"], r["prefill"], r["seed"])
            (mine,) = hf.generate([req], sampling)
            assert mine.texts[0].rstrip("\ufffd") == r["response"].rstrip("\ufffd")
            assert mine.prompt_tokens == r["prompt_tokens"]
    finally:
        stop_group(server)
        log.close()


def stop_group(process) -> None:
    """Stop the server and the engine processes it started (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def wait_ready(server, port: int, log_path, limit_s: float = 300.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"vllm serve exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"vllm serve not ready after {limit_s:.0f} s:\n{log_path.read_text()[-3000:]}")

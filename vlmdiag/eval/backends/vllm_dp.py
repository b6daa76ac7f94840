"""Data parallelism for the offline engine: N independent vLLM engines in worker processes.

`LLM(data_parallel_size=N)` is refused in a single process, yet a node with 8 GPUs and a model
that fits on one should run 8 engines. Each worker sees only its own GPUs (CUDA_VISIBLE_DEVICES
set before vLLM is imported), builds one engine, and answers batches over a pipe. A batch is split
into contiguous shards, one per engine; per-request seeds make the outputs independent of it.
"""
from __future__ import annotations

import multiprocessing
import os

from vlmdiag.errors import VlmdiagError
from vlmdiag.eval.backends.base import Generation, Sampling
from vlmdiag.eval.requests import Request


class DataParallelEngines:
    def __init__(self, ranks: int, model: str, revision: str | None, options: dict):
        ctx = multiprocessing.get_context("spawn")  # vLLM and CUDA need a fresh interpreter
        per_rank = int(options.get("tensor_parallel_size", 1)) * int(options.get("pipeline_parallel_size", 1))
        devices = _devices(ranks * per_rank)
        self.workers = []
        for rank in range(ranks):
            parent, child = ctx.Pipe()
            env = {"CUDA_VISIBLE_DEVICES": ",".join(devices[rank * per_rank:(rank + 1) * per_rank])}
            process = ctx.Process(target=_serve, args=(child, env, model, revision, options), name=f"vlmdiag-dp{rank}")
            process.start()
            child.close()
            self.workers.append((process, parent))
        failures = [msg for kind, msg in (self._receive(conn) for _, conn in self.workers) if kind != "ready"]
        if failures:
            self.close()
            raise VlmdiagError(f"a data-parallel engine failed to start: {failures[0]}")

    def generate(self, requests: list[Request], sampling: Sampling) -> list[Generation]:
        size = -(-len(requests) // len(self.workers))
        shards = [requests[i:i + size] for i in range(0, len(requests), size)]
        for (_, conn), shard in zip(self.workers, shards):
            conn.send((shard, sampling))
        # Read every engine's answer before raising, so each pipe stays in step for the next batch.
        answers = [self._receive(conn) for (_, conn), _ in zip(self.workers, shards)]
        errors = [payload for kind, payload in answers if kind == "error"]
        if errors:
            raise RuntimeError(errors[0])
        return [gen for _, payload in answers for gen in payload]

    def close(self) -> None:
        for process, conn in self.workers:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for process, conn in self.workers:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()
                process.join()
            conn.close()
        self.workers = []

    @staticmethod
    def _receive(conn) -> tuple[str, object]:
        try:
            return conn.recv()
        except EOFError:
            return "error", "a data-parallel engine process died"


def _devices(count: int) -> list[str]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    devices = [d for d in visible.split(",") if d] if visible else [str(i) for i in range(count)]
    if len(devices) < count:
        raise VlmdiagError(f"data parallelism needs {count} devices (ranks x tensor parallel); "
                           f"CUDA_VISIBLE_DEVICES lists {len(devices)}")
    return devices


def _serve(conn, env: dict, model: str, revision: str | None, options: dict) -> None:
    """Worker: one engine on its own devices, answering (requests, sampling) until told to stop."""
    os.environ.update(env)
    from vlmdiag.eval.backends.vllm import chat_generate, start_engine

    try:
        llm = start_engine(model, revision, options)
    except Exception as e:  # noqa: BLE001 - reported to the parent, which stops the run
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            return
        requests, sampling = message
        try:
            conn.send(("ok", chat_generate(llm, requests, sampling)))
        except Exception as e:  # noqa: BLE001 - the parent isolates the failing request
            conn.send(("error", f"{type(e).__name__}: {e}"))

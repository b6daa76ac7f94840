"""kill -9 in the middle of a real `eval` process, then the same command again: the records equal
those of an uninterrupted run, none duplicated. The model is a tiny real one (hf backend), so the
process does what a user's does: load a model, generate, write, get killed."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from vlmdiag.testing import tiny_dataset

pytest.importorskip("transformers", reason="the ML stack (.ci/install-ml) is not installed")
pytest.importorskip("torch", reason="the ML stack (.ci/install-ml) is not installed")

VOLATILE = {"latency_s"}


def eval_command(model, data, out) -> list[str]:
    code = "import sys; from vlmdiag.eval.cli import app; sys.exit(app())"
    return [sys.executable, "-c", code, "eval", "--backend", "hf", "--model", str(model), "--data", str(data),
            "--out", str(out), "--batch-size", "1", "--max-tokens", "8"]


def records_in(out) -> list[dict]:
    (path,) = out.glob("*/records.jsonl")
    return [json.loads(line) for line in path.read_text().split("\n") if line]


def lines_in(out) -> int:
    paths = list(out.glob("*/records.jsonl"))
    return paths[0].read_bytes().count(b"\n") if paths else 0


def stable(records):
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in records]


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun_gives_the_records_of_an_uninterrupted_run(tmp_path):
    from vlmdiag.testing import tiny_qwen2vl

    model = tiny_qwen2vl(tmp_path / "model")
    data = tiny_dataset(tmp_path / "graph", "graph", test_rows=4)
    total = 2 * 4  # end-to-end and counterfactual per row

    subprocess.run(eval_command(model, data, tmp_path / "whole"), check=True, capture_output=True, timeout=600)
    whole = records_in(tmp_path / "whole")
    assert len(whole) == total

    process = subprocess.Popen(eval_command(model, data, tmp_path / "cut"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while lines_in(tmp_path / "cut") < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    written = lines_in(tmp_path / "cut")
    assert 2 <= written < total, "the kill came too late to interrupt the run"

    subprocess.run(eval_command(model, data, tmp_path / "cut"), check=True, capture_output=True, timeout=600)
    resumed = records_in(tmp_path / "cut")
    assert len({(r["id"], r["mode"], r["k"]) for r in resumed}) == len(resumed) == total
    assert stable(resumed) == stable(whole)

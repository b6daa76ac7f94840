"""The run loop on real datasets of both tasks, with the replay backend and small fakes of an engine:
scoring, resume, run identity, per-sample isolation, re-scoring."""
import json
from dataclasses import replace

import pytest

from vlmdiag.errors import VlmdiagError
from vlmdiag.eval.backends.base import Backend, Generation, Sampling
from vlmdiag.eval.backends.replay import ReplayBackend
from vlmdiag.eval.data import load_eval_data
from vlmdiag.eval.records import read_records
from vlmdiag.eval.runner import RECORDS, RESULTS, EvalSpec, evaluate, rescore
from vlmdiag.tasks import get_task
from vlmdiag.testing import tiny_dataset

VOLATILE = {"latency_s"}


@pytest.fixture(scope="module")
def graph_data(tmp_path_factory):
    return load_eval_data(str(tiny_dataset(tmp_path_factory.mktemp("d") / "graph", "graph", test_rows=8)))


@pytest.fixture(scope="module")
def sudoku_data(tmp_path_factory):
    return load_eval_data(str(tiny_dataset(tmp_path_factory.mktemp("d") / "sudoku", "sudoku", test_rows=4)))


def oracle_text(data, row: int) -> str:
    task = get_task(data.task)
    return task.trace(task.load_problem(data.rows[row]["ground_truth"])).text


class Scripted(Backend):
    """A stand-in engine: answers from a function of the request, counts calls, fails on demand."""

    name = "scripted"
    supports_prefill = True

    def __init__(self, answer, fail_on=lambda r: False, stop_after=None, label="m"):
        self.answer, self.fail_on, self.stop_after, self.label = answer, fail_on, stop_after, label
        self.calls: list[list[str]] = []

    def identity(self):
        return {"model": self.label}

    def generate(self, requests, sampling):
        if self.stop_after is not None and len(self.calls) >= self.stop_after:
            raise KeyboardInterrupt  # a process killed between batches
        self.calls.append([r.id for r in requests])
        if any(self.fail_on(r) for r in requests):
            raise ValueError("prompt too long for the engine")
        return [Generation(texts=tuple(self.answer(r, k) for k in range(sampling.n)), prompt_tokens=3,
                           completion_tokens=(5,) * sampling.n, latency_s=0.01) for r in requests]


def stable(records):
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in records]


@pytest.mark.parametrize("data_name", ["graph_data", "sudoku_data"])
def test_oracle_responses_score_perfectly_and_junk_scores_zero_with_reasons(data_name, request, tmp_path):
    data = request.getfixturevalue(data_name)
    truth = {data.rows[i]["id"]: oracle_text(data, i) for i in range(len(data.rows))}
    good = {rid for i, rid in enumerate(truth) if i % 2 == 0}

    def answer(req, k):
        if req.mode == "counterfactual":
            return truth[req.id][len(req.prefill):]  # the oracle continuation after the prefill
        return truth[req.id] if req.id in good else "I cannot see the image."

    run = evaluate(Scripted(answer), data, EvalSpec(batch_size=3), tmp_path)
    results = json.loads((run / RESULTS).read_text())["metrics"]
    n = len(truth)
    assert (results["a"]["successes"], results["a"]["n"]) == (len(good), n)
    assert (results["a_p"]["successes"], results["a_r"]["successes"]) == (len(good), n)
    assert results["failures"]["counts"] == {"perception": n - len(good), "reasoning": 0, "no_response": 0}
    bad = [r for r in read_records(run / RECORDS) if r["mode"] == "end_to_end" and r["id"] not in good]
    assert all(r["answer"] is None and r["answer_error"] and not r["correct"] for r in bad)


def test_counterfactual_prefill_sends_image_and_oracle_perception_text_variant_sends_neither(graph_data, tmp_path):
    seen = []
    backend = Scripted(lambda r, k: seen.append(r) or "")
    evaluate(backend, graph_data, EvalSpec(modes=("counterfactual",), variant="prefill"), tmp_path / "p")
    task = get_task("graph")
    for req in seen:
        problem = task.load_problem(graph_data.rows[req.row]["ground_truth"])
        assert req.image is not None and req.prefill == task.trace(problem).prefill
        assert req.prefill.endswith(task.perception_text(problem)) and req.prompt == graph_data.rows[req.row]["query"]
    seen.clear()
    evaluate(backend, graph_data, EvalSpec(modes=("counterfactual",), variant="text"), tmp_path / "t")
    assert seen and all(r.image is None and r.prefill is None and task.perception_text(
        task.load_problem(graph_data.rows[r.row]["ground_truth"])) in r.prompt for r in seen)


def test_interrupted_run_resumes_to_the_same_records_without_duplicates(graph_data, tmp_path):
    answer = lambda r, k: f"{r.id} {r.mode} {k}"  # noqa: E731
    spec = EvalSpec(batch_size=4, sampling=Sampling(n=2))
    whole = read_records(evaluate(Scripted(answer), graph_data, spec, tmp_path / "whole") / RECORDS)
    with pytest.raises(KeyboardInterrupt):
        evaluate(Scripted(answer, stop_after=2), graph_data, spec, tmp_path / "cut")
    resumed_backend = Scripted(answer)
    run = evaluate(resumed_backend, graph_data, spec, tmp_path / "cut")
    assert stable(read_records(run / RECORDS)) == stable(whole)
    assert sum(map(len, resumed_backend.calls)) == 2 * len(graph_data.rows) - 8  # two batches of 4 were done
    again = Scripted(answer)
    evaluate(again, graph_data, spec, tmp_path / "cut")
    assert again.calls == []


def test_a_cut_last_line_is_dropped_and_its_sample_run_again(graph_data, tmp_path):
    answer = lambda r, k: "x"  # noqa: E731
    run = evaluate(Scripted(answer), graph_data, EvalSpec(batch_size=100), tmp_path)
    path = run / RECORDS
    full = path.read_bytes()
    path.write_bytes(full[: len(full) - 40])  # kill -9 in the middle of writing the last record
    backend = Scripted(answer)
    evaluate(backend, graph_data, EvalSpec(batch_size=100), tmp_path)
    assert sum(map(len, backend.calls)) == 1
    assert stable(read_records(path)) == stable(json.loads(line) for line in full.splitlines())


def test_changing_sampling_or_model_starts_a_new_run_folder(graph_data, tmp_path):
    answer = lambda r, k: ""  # noqa: E731
    first = evaluate(Scripted(answer), graph_data, EvalSpec(), tmp_path)
    assert evaluate(Scripted(answer), graph_data, EvalSpec(), tmp_path) == first
    hotter = evaluate(Scripted(answer), graph_data, EvalSpec(sampling=Sampling(temperature=0.7)), tmp_path)
    other = evaluate(Scripted(answer, label="m2"), graph_data, EvalSpec(), tmp_path)
    assert len({first, hotter, other}) == 3
    assert len(read_records(first / RECORDS)) == 2 * len(graph_data.rows)


def test_one_failing_request_is_recorded_and_the_run_goes_on(graph_data, tmp_path):
    poison = graph_data.rows[3]["id"]
    backend = Scripted(lambda r, k: "ok", fail_on=lambda r: r.id == poison and r.mode == "end_to_end")
    run = evaluate(backend, graph_data, EvalSpec(batch_size=4), tmp_path)
    records = read_records(run / RECORDS)
    failed = [r for r in records if r["error"]]
    assert [(r["id"], r["mode"]) for r in failed] == [(poison, "end_to_end")]
    assert "prompt too long" in failed[0]["error"] and failed[0]["response"] is None and not failed[0]["correct"]
    assert len(records) == 2 * len(graph_data.rows)
    results = json.loads((run / RESULTS).read_text())["metrics"]
    assert results["problems"]["backend_errors"] == 1 and results["failures"]["counts"]["no_response"] == 1


def test_a_backend_failing_every_request_stops_the_run_instead_of_recording_errors(graph_data, tmp_path):
    with pytest.raises(VlmdiagError, match="failed on every request"):
        evaluate(Scripted(lambda r, k: "", fail_on=lambda r: True), graph_data, EvalSpec(batch_size=4), tmp_path)


def test_records_made_from_other_prompts_are_refused(graph_data, tmp_path):
    run = evaluate(Scripted(lambda r, k: ""), graph_data, EvalSpec(), tmp_path)
    path = run / RECORDS
    records = read_records(path)
    records[0]["prompt_hash"] = "0" * 16
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(VlmdiagError, match="different prompt"):
        evaluate(Scripted(lambda r, k: ""), graph_data, EvalSpec(), tmp_path)


def test_rescore_recomputes_scores_from_raw_responses(graph_data, tmp_path):
    truth = [oracle_text(graph_data, i) for i in range(len(graph_data.rows))]
    run = evaluate(Scripted(lambda r, k: truth[r.row]), graph_data, EvalSpec(modes=("end_to_end",)), tmp_path)
    path = run / RECORDS
    tampered = [dict(r, correct=False, perception_scores={"exact": 0.0}) for r in read_records(path)]
    path.write_text("".join(json.dumps(r) + "\n" for r in tampered))
    results = rescore(run)
    assert results["metrics"]["a"]["value"] == 1.0 and results["metrics"]["a_p"]["value"] == 1.0
    assert all(r["correct"] for r in read_records(path))


def test_replay_scores_a_jsonl_of_responses_and_flags_missing_ones(graph_data, tmp_path):
    lines = [{"id": graph_data.rows[i]["id"], "response": oracle_text(graph_data, i)} for i in range(5)]
    lines.append({"id": graph_data.rows[5]["id"], "mode": "end_to_end", "response": "no idea"})
    path = tmp_path / "responses.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    run = evaluate(ReplayBackend(path), graph_data, EvalSpec(modes=("end_to_end",)), tmp_path / "runs")
    m = json.loads((run / RESULTS).read_text())["metrics"]
    assert (m["a"]["successes"], m["a"]["n"]) == (5, len(graph_data.rows))
    assert m["problems"]["backend_errors"] == len(graph_data.rows) - 6


def test_replay_rejects_a_malformed_file(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a", "response": "x"}\n{"response": "no id"}\n')
    with pytest.raises(VlmdiagError, match="line 2"):
        ReplayBackend(path)


def test_results_record_what_reproduces_the_run(graph_data, tmp_path):
    spec = EvalSpec(sampling=Sampling(temperature=0.3, top_p=0.9, max_tokens=77, seed=5, n=1))
    run = evaluate(Scripted(lambda r, k: ""), graph_data, spec, tmp_path, argv=["vlmdiag", "eval", "--seed", "5"])
    info = json.loads((run / RESULTS).read_text())["run"]
    assert info["identity"]["sampling"] == replace(spec.sampling).to_dict()
    assert info["identity"]["dataset"]["fingerprint"] == graph_data.fingerprint
    assert info["identity"]["counterfactual"] == "prefill" and info["command"][1:] == ["eval", "--seed", "5"]
    assert "vlmdiag" in info["versions"] and info["records"] == 2 * len(graph_data.rows)


def test_requests_get_seeds_that_do_not_depend_on_batching(graph_data, tmp_path):
    seeds = {}
    for size in (1, 5):
        seen = []
        evaluate(Scripted(lambda r, k: seen.append(r) or ""), graph_data, EvalSpec(batch_size=size),
                 tmp_path / str(size))
        seeds[size] = {r.key: r.seed for r in seen}
    assert seeds[1] == seeds[5] and len(set(seeds[1].values())) == len(seeds[1])

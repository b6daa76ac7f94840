"""`eval`, `score` and `report` as a user runs them: replayed responses, a table, figures."""
import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from vlmdiag.errors import VlmdiagError
from vlmdiag.eval.cli import app
from vlmdiag.eval.records import read_records
from vlmdiag.eval.runner import RECORDS, RESULTS
from vlmdiag.tasks import get_task
from vlmdiag.testing import tiny_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_dataset(tmp_path_factory.mktemp("d") / "sudoku", "sudoku", test_rows=4)


def responses(data, tmp_path, good: int):
    import datasets

    task = get_task("sudoku")
    rows = datasets.load_dataset(str(data), split="test")
    path = tmp_path / "answers.jsonl"
    with path.open("w") as f:
        for i, row in enumerate(rows):
            trace = task.trace(task.load_problem(row["ground_truth"]))
            f.write(json.dumps({"id": row["id"], "response": trace.text if i < good else "Answer:\n[]"}) + "\n")
            f.write(json.dumps({"id": row["id"], "mode": "counterfactual", "response": trace.text[len(trace.prefill):]}) + "\n")
    return path


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_eval_score_report_round_trip(data, tmp_path):
    answers = responses(data, tmp_path, good=3)
    result = invoke("eval", "--data", data, "--backend", "replay", "--responses", answers, "--out", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert "75.0" in result.output and "100.0" in result.output  # a = 3/4, a_r = 4/4
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / RESULTS).read_text())["metrics"]["a"]["successes"] == 3

    records = read_records(run / RECORDS)
    (run / RECORDS).write_text("".join(json.dumps(dict(r, correct=True)) + "\n" for r in records))
    assert invoke("score", tmp_path / "runs").exit_code == 0
    assert json.loads((run / RESULTS).read_text())["metrics"]["a"]["successes"] == 3

    result = invoke("report", run, "--figures", tmp_path / "fig")
    assert result.exit_code == 0 and "a_p" in result.output
    for name in ("accuracy.png", "sudoku_by_difficulty.png"):
        with Image.open(tmp_path / "fig" / name) as image:
            assert image.size[0] > 300


def test_report_compares_several_runs_and_tells_same_named_runs_apart(data, tmp_path):
    answers = responses(data, tmp_path, good=1)
    for seed in (0, 1):
        invoke("eval", "--data", data, "--backend", "replay", "--responses", answers, "--out", tmp_path / "runs",
               "--seed", seed)
    result = invoke("report", tmp_path / "runs", "--figures", tmp_path / "fig")
    assert result.exit_code == 0 and result.output.count("answers · sudoku/test") == 2


def test_user_mistakes_are_one_line_errors(data, tmp_path):
    with pytest.raises(VlmdiagError, match="needs --responses"):
        invoke("eval", "--data", data, "--backend", "replay")
    with pytest.raises(VlmdiagError, match="not valid JSON"):
        invoke("eval", "--data", data, "--model", "m", "--mm-processor-kwargs", "{oops")
    with pytest.raises(VlmdiagError, match="no dataset"):
        invoke("eval", "--data", tmp_path / "missing", "--backend", "replay", "--responses", tmp_path)
    with pytest.raises(VlmdiagError, match="vllm backend only"):
        invoke("eval", "--data", data, "--backend", "openai", "--model", "m", "--engine-arg", "dtype=float32")
    with pytest.raises(VlmdiagError, match="no run folders"):
        invoke("report", tmp_path)


def test_report_on_an_interrupted_run_scores_the_records_it_has(data, tmp_path):
    answers = responses(data, tmp_path, good=4)
    invoke("eval", "--data", data, "--backend", "replay", "--responses", answers, "--out", tmp_path / "runs",
           "--modes", "end_to_end")
    (run,) = (tmp_path / "runs").iterdir()
    (run / RESULTS).unlink()  # as if killed before the end
    result = invoke("report", run, "--figures", tmp_path / "fig")
    assert result.exit_code == 0 and "100.0" in result.output
    assert json.loads((run / RESULTS).read_text())["metrics"]["a_r"]["n"] == 0

"""The command line as a user types it."""
import hashlib
import json
import subprocess
import sys

import datasets
import pytest
from PIL import Image

from vlmdiag.cli import main, task_options
from vlmdiag.errors import VlmdiagError


def run(*args):
    return subprocess.run([sys.executable, "-m", "vlmdiag.cli", *args], capture_output=True, text=True, timeout=300)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generate_graph_dataset_same_bytes_for_any_worker_count(tmp_path):
    args = ["generate", "--task", "graph", "--n", "60", "--seed", "3", "--vertices", "7-9"]
    assert main([*args, "--out", str(tmp_path / "w1"), "--workers", "1"]) == 0
    assert main([*args, "--out", str(tmp_path / "w2"), "--workers", "2"]) == 0
    assert digest(tmp_path / "w1") == digest(tmp_path / "w2")

    ds = datasets.load_dataset(str(tmp_path / "w1"))
    assert {k: len(v) for k, v in ds.items()} == {"test": 6, "train_sft": 27, "train_rl": 27}
    for row in ds["test"]:
        gt = json.loads(row["ground_truth"])
        assert row["ground_truth"] == json.dumps(gt) and set(gt) == {"v", "c", "edges"}
        assert 7 <= gt["v"] <= 9 and gt["edges"] == sorted(gt["edges"])
        assert all(i < j for i, j in gt["edges"])
        assert row["p_star"] in row["query"] or row["p_star"] == json.dumps(gt["edges"])
        assert row["image"].size == (448, 448)


def test_generate_sudoku_dataset_same_bytes_for_any_worker_count(tmp_path):
    args = ["generate", "--task", "sudoku", "--n", "24", "--seed", "1", "--clues", "30-40", "--test-size", "4"]
    assert main([*args, "--out", str(tmp_path / "w1"), "--workers", "1"]) == 0
    assert main([*args, "--out", str(tmp_path / "w2"), "--workers", "2"]) == 0
    assert digest(tmp_path / "w1") == digest(tmp_path / "w2")
    rows = datasets.load_dataset(str(tmp_path / "w1"), split="train_sft")
    for row in rows:
        grid = json.loads(row["ground_truth"])
        assert sum(v != 0 for r in grid for v in r) == row["clues"] and 30 <= row["clues"] <= 40
        assert row["response"][row["perception_start"]:row["perception_end"]] == row["p_star"]


@pytest.mark.parametrize("args, message", [
    (["generate", "--task", "graph", "--n", "0"], "--n must be positive"),
    (["generate", "--task", "chess", "--n", "5"], "unknown task 'chess'"),
    (["generate", "--task", "graph", "--n", "5", "--vertices", "9-7"], "greater than maximum"),
    (["generate", "--task", "graph", "--n", "5", "--vertices", "5", "--chromatic", "6"], "chromatic"),
    (["generate", "--task", "graph", "--n", "5", "--colour", "red"], "unknown option --colour"),
    (["generate", "--task", "graph", "--n", "five"], "'--n'"),
    (["preview", "--task", "sudoku", "--clues", "12"], "17"),
])
def test_bad_arguments_give_one_line_and_exit_code_2(args, message, tmp_path):
    result = run(*args, "--out", str(tmp_path / "x"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and "Traceback" not in result.stderr


def test_preview_writes_a_contact_sheet(tmp_path):
    out = tmp_path / "sheet.png"
    assert main(["preview", "--task", "graph", "--n", "4", "--out", str(out)]) == 0
    sheet = Image.open(out)
    assert sheet.width >= 2 * 100 and sheet.height >= 100


def test_tasks_lists_every_registered_task_with_its_options(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "graph" in out and "--vertices 7-10" in out
    assert "sudoku" in out and "--clues" in out


def test_task_options_accept_both_spellings():
    assert task_options(["--clues", "22-40", "--style=varied"]) == {"clues": "22-40", "style": "varied"}
    with pytest.raises(VlmdiagError, match="needs a value"):
        task_options(["--clues"])


def test_generate_reports_progress_with_a_plausible_rate(tmp_path, capsys):
    assert main(["generate", "--task", "graph", "--n", "30", "--out", str(tmp_path / "g")]) == 0
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith("rendering and writing"))
    assert "30/30" in line
    rate = float(line.split("/s")[0].split()[-1].replace(",", ""))
    assert 0 < rate < 100_000  # an average over the run, not an extrapolation of one large step

"""`train sft`, `train grpo`, `diagnose tokens`, `diagnose coupling` end to end on a tiny model and a generated dataset."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

import typer  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from vlmdiag.errors import VlmdiagError  # noqa: E402
from vlmdiag.training.cli import diagnose_app, train_app  # noqa: E402

app = typer.Typer()
app.add_typer(train_app, name="train")
app.add_typer(diagnose_app, name="diagnose")


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def graph_data(tmp_path_factory):
    from vlmdiag.hub.build import Plan, generate_dataset
    from vlmdiag.tasks import get_task

    task = get_task("graph")
    out = tmp_path_factory.mktemp("data") / "graph"
    return str(generate_dataset(Plan("graph", task.config_cls(), 0, {"test": 1, "train_sft": 4, "train_rl": 2}), out))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from vlmdiag.testing import tiny_qwen2vl

    return str(tiny_qwen2vl(tmp_path_factory.mktemp("tiny") / "qwen"))


def generate_from(checkpoint: str):
    """Load a checkpoint with the evaluation harness's hf backend and generate a few tokens."""
    import io

    from PIL import Image

    from vlmdiag.eval.backends.base import Sampling
    from vlmdiag.eval.backends.hf import HFBackend
    from vlmdiag.eval.requests import Request

    png = io.BytesIO()
    Image.new("RGB", (56, 56), "white").save(png, format="PNG")
    request = Request(row=0, id="x", mode="e2e", variant=None, prompt="List the edges.", image=png.getvalue(),
                      prefill=None, seed=0)
    return HFBackend(checkpoint).generate([request], Sampling(max_tokens=4))[0]


def test_train_sft_span_writes_a_checkpoint_that_loads_and_generates(model_dir, graph_data, tmp_path):
    out = tmp_path / "sft"
    run("train", "sft", "--model", model_dir, "--data", graph_data, "--loss", "span", "--lam", "0.2", "--out", str(out),
        "--max-steps", "2", "--batch-size", "2", "--lr", "1e-3", "--logging-steps", "1")
    logs = json.loads((out / "log_history.json").read_text())
    steps = [h for h in logs if "loss_perception" in h]
    assert len(steps) == 2 and all(h["lambda"] == 0.2 for h in steps)
    assert json.loads((out / "recipe.json").read_text())["loss"] == "span"
    generation = generate_from(str(out))
    assert generation.error is None and len(generation.texts) == 1


def test_train_sft_ngdiff_with_lora_and_frozen_vision_saves_merged_weights(model_dir, graph_data, tmp_path):
    from safetensors.torch import load_file

    out = tmp_path / "lora"
    run("train", "sft", "--model", model_dir, "--data", graph_data, "--loss", "ngdiff", "--out", str(out),
        "--lora-rank", "4", "--freeze-vision", "--max-steps", "1", "--batch-size", "2", "--lr", "1e-2",
        "--logging-steps", "1")
    assert not (out / "adapter_config.json").exists()
    before, after = load_file(f"{model_dir}/model.safetensors"), load_file(str(out / "model.safetensors"))
    assert before.keys() == after.keys()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and not any("visual" in k for k in changed)
    log = [h for h in json.loads((out / "log_history.json").read_text()) if "lambda" in h]
    assert 0.0 < log[0]["lambda"] < 1.0 and "grad_norm_reasoning" in log[0]


def test_train_grpo_runs_logs_every_reward_and_saves_rollouts(model_dir, graph_data, tmp_path):
    out = tmp_path / "grpo"
    run("train", "grpo", "--model", model_dir, "--data", graph_data, "--alpha", "0.2", "--perception-reward", "gt",
        "--out", str(out), "--max-steps", "2", "--batch-size", "2", "--num-generations", "2",
        "--max-completion-length", "8", "--logging-steps", "1")
    logs = [h for h in json.loads((out / "log_history.json").read_text()) if "reward" in h]
    assert len(logs) == 2
    for name in ("a", "a_p", "majority", "consistency", "format"):
        assert f"rewards/{name}/mean" in logs[0]
    rollouts = [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]
    assert len(rollouts) == 4 and {r["step"] for r in rollouts} == {0, 1}
    assert all(r["reward"] == pytest.approx(0.2 * r["a_p"] + 0.8 * r["a"]) for r in rollouts)
    assert (out / "model.safetensors").exists()

    table = run("diagnose", "coupling", str(out)).output
    assert "reward~perception" in table and "graph" in table
    stats = json.loads(run("diagnose", "coupling", str(out / "rollouts.jsonl"), "--json").output)
    assert stats["graph"]["n"] == 4


def test_diagnose_tokens_counts_the_collator_masks(model_dir, graph_data, tmp_path):
    import datasets
    from transformers import AutoProcessor

    from vlmdiag.training.collate import SpanCollator

    plot = tmp_path / "tokens.png"
    output = run("diagnose", "tokens", "--model", model_dir, "--data", graph_data, "--with-loss",
                 "--plot", str(plot)).output
    rows = datasets.load_dataset("parquet", data_files=f"{graph_data}/data/train_sft-*.parquet", split="train")
    batch = SpanCollator(AutoProcessor.from_pretrained(model_dir))([rows[i] for i in range(len(rows))])
    perception = int(batch["perception_mask"][:, 1:].sum())
    response = perception + int(batch["reasoning_mask"][:, 1:].sum())
    assert f"{100 * perception / response:.2f}%" in output
    assert plot.stat().st_size > 0


@pytest.mark.parametrize("args, message", [
    (["--loss", "focal"], "--loss must be one of"),
    (["--lam", "1.5"], "--lam must be in"),
    (["--ngdiff-every", "0"], "--ngdiff-every"),
])
def test_bad_sft_options_fail_with_one_line_before_loading_anything(args, message, tmp_path):
    with pytest.raises(VlmdiagError, match=message):
        run("train", "sft", "--model", "no/such-model", "--data", str(tmp_path), "--out", str(tmp_path / "o"), *args)


def test_grpo_rejects_an_unknown_perception_reward_and_a_non_empty_out(tmp_path):
    with pytest.raises(VlmdiagError, match="--perception-reward"):
        run("train", "grpo", "--model", "m", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
            "--perception-reward", "vibes")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(VlmdiagError, match="not empty"):
        run("train", "grpo", "--model", "m", "--data", str(tmp_path), "--out", str(tmp_path / "full"))

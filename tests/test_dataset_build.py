"""The dataset builder, on a toy task registered the way any new task is (one registry entry)."""
import hashlib
import json
from pathlib import Path

import datasets
import pytest
import yaml

import vlmdiag.tasks
from vlmdiag.errors import BudgetExceeded, VlmdiagError
from vlmdiag.hub import build
from vlmdiag.hub.build import Plan, generate_dataset, split_sizes
from vlmdiag.tasks import get_task


@pytest.fixture(autouse=True)
def digits_task(monkeypatch):
    monkeypatch.setitem(vlmdiag.tasks._TASKS, "digits", "toy_task:DigitsTask")
    monkeypatch.setattr(build, "SHARD_ROWS", 4)


def plan(n=20, seed=0, length=(3, 5)):
    task = get_task("digits")
    return Plan("digits", task.config_cls(length=length), seed, split_sizes(n, 4, 6))


def folder_digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_written_folder_loads_with_datasets_and_keeps_its_splits(tmp_path):
    out = generate_dataset(plan(), tmp_path / "digits")
    ds = datasets.load_dataset(str(out))
    assert {k: len(v) for k, v in ds.items()} == {"test": 4, "train_sft": 10, "train_rl": 6}
    row = ds["test"][0]
    assert row["image"].size == (96, 32)
    assert row["task"] == "digits" and row["response"] == "" and row["perception_start"] is None
    assert isinstance(ds["test"].features["image"], datasets.Image)


def test_sft_rows_carry_spans_that_select_p_star(tmp_path):
    ds = datasets.load_dataset(str(generate_dataset(plan(), tmp_path / "d")))["train_sft"]
    for row in ds:
        assert row["response"][row["perception_start"]:row["perception_end"]] == row["p_star"]
        assert row["reasoning_end"] == len(row["response"])
        assert row["reasoning_start"] == row["perception_end"]


def test_no_problem_appears_twice_across_splits(tmp_path):
    # 3-digit strings over 20 items collide rarely; 1-digit ones (10 possible) force re-draws.
    ds = datasets.load_dataset(str(generate_dataset(plan(n=10, length=(1, 1)), tmp_path / "d")))
    ids = [i for split in ds.values() for i in split["id"]]
    assert len(ids) == 10 == len(set(ids))


def test_too_few_distinct_problems_is_a_clear_error(tmp_path):
    with pytest.raises(BudgetExceeded, match="distinct"):
        generate_dataset(plan(n=11, length=(1, 1)), tmp_path / "d")


def test_existing_output_needs_overwrite(tmp_path):
    out = generate_dataset(plan(), tmp_path / "d")
    with pytest.raises(VlmdiagError, match="--overwrite"):
        generate_dataset(plan(), out)
    generate_dataset(plan(seed=1), out, overwrite=True)
    assert json.loads((out / "generation.json").read_text())["seed"] == 1


def test_same_seed_same_bytes_and_other_seed_other_items(tmp_path):
    a = folder_digest(generate_dataset(plan(), tmp_path / "a"))
    b = folder_digest(generate_dataset(plan(), tmp_path / "b"))
    c = folder_digest(generate_dataset(plan(seed=1), tmp_path / "c"))
    assert a == b
    assert a["data/test-00000-of-00001.parquet"] != c["data/test-00000-of-00001.parquet"]


def test_interrupted_run_looks_incomplete_and_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    reference = folder_digest(generate_dataset(plan(), tmp_path / "ref"))
    real = build._write_shard
    calls = []

    def dies_on_third_shard(args):
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(args)

    monkeypatch.setattr(build, "_write_shard", dies_on_third_shard)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(plan(), out)
    assert not out.exists()
    partial = tmp_path / "run.partial"
    assert len(list((partial / "data").glob("*.parquet"))) == 2
    assert not (partial / "README.md").exists()
    # a worker killed mid-write leaves its temporary file behind; it must not reach the output
    (partial / "data" / "train_rl-00000-of-00002.parquet.tmp-999").write_bytes(b"half a shard")

    calls.clear()
    monkeypatch.setattr(build, "_write_shard", lambda args: calls.append(args) or real(args))
    generate_dataset(plan(), out)
    assert len(calls) == len(build.shard_jobs(plan())) - 2  # finished shards were kept
    assert folder_digest(out) == reference
    assert not partial.exists()


def test_partial_folder_from_other_arguments_is_discarded(tmp_path, monkeypatch):
    partial = tmp_path / "run.partial"
    (partial / "data").mkdir(parents=True)
    (partial / "data" / "test-00000-of-00001.parquet").write_bytes(b"stale")
    (partial / "generation.json").write_text("{}")
    out = generate_dataset(plan(), tmp_path / "run")
    assert len(datasets.load_dataset(str(out))["test"]) == 4


def test_card_has_hub_metadata_and_documents_the_run(tmp_path):
    out = generate_dataset(plan(), tmp_path / "d")
    text = (out / "README.md").read_text()
    head = yaml.safe_load(text.split("---")[1])
    assert head["license"] and "image-text-to-text" in head["task_categories"]
    splits = {f["split"]: f["path"] for f in head["configs"][0]["data_files"]}
    assert splits == {s: f"data/{s}-*" for s in ("test", "train_sft", "train_rl")}


@pytest.mark.parametrize("n, test, rl", [(0, None, None), (-3, None, None), (10, 8, 5), (10, -1, None)])
def test_impossible_split_sizes_are_refused(n, test, rl):
    with pytest.raises(VlmdiagError):
        split_sizes(n, test, rl)


def test_regenerated_folder_loads_its_new_rows_not_a_cached_copy(tmp_path):
    # datasets caches a local folder by its base name and card metadata: the card's sizes must
    # change with the content, or the second load would return the first run's rows.
    out = generate_dataset(plan(seed=0), tmp_path / "same")
    first = datasets.load_dataset(str(out))["train_sft"]["id"]
    generate_dataset(plan(seed=5), out, overwrite=True)
    assert datasets.load_dataset(str(out))["train_sft"]["id"] != first
    other = generate_dataset(plan(n=12, seed=0), tmp_path / "elsewhere" / "same")
    assert len(datasets.load_dataset(str(other))["train_sft"]) == 2


def test_load_split_reads_its_own_shards_wherever_the_folder_lives(tmp_path):
    from vlmdiag.hub.load import load_split

    # "test" in a parent folder's name must not pull every shard into the test split
    out = generate_dataset(plan(), tmp_path / "test_runs" / "d")
    assert len(load_split(str(out), "train_sft")) == 10
    assert len(load_split(str(out), "test")) == 4
    with pytest.raises(VlmdiagError, match="no split 'validation'"):
        load_split(str(out), "validation")
    with pytest.raises(VlmdiagError, match="Hub datasets"):
        load_split(str(out), "test", revision="main")

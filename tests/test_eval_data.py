"""Reading a split of a `vlmdiag generate` folder, and what pins it down."""
import pytest

from vlmdiag.errors import VlmdiagError
from vlmdiag.eval.data import load_eval_data
from vlmdiag.testing import tiny_dataset


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    # "test" in the path on purpose: datasets' own split inference would pull every shard into `test`.
    return tiny_dataset(tmp_path_factory.mktemp("test_runs") / "graph", "graph", test_rows=3)


def test_a_split_holds_only_its_own_rows_whatever_the_folder_is_called(folder):
    test, train = load_eval_data(str(folder), "test"), load_eval_data(str(folder), "train_sft")
    assert len(test.rows) == 3 and len(train.rows) == 1
    assert not set(test.rows["id"]) & set(train.rows["id"])
    assert test.task == "graph" and test.identity()["split"] == "test"


def test_fingerprint_changes_with_the_rows_and_limit_keeps_the_first_rows(folder, tmp_path):
    import shutil

    full, limited = load_eval_data(str(folder)), load_eval_data(str(folder), limit=2)
    assert limited.rows["id"] == full.rows["id"][:2] and limited.fingerprint == full.fingerprint
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert load_eval_data(str(copy)).fingerprint == full.fingerprint
    import pyarrow.parquet as pq

    (shard,) = (copy / "data").glob("test-*.parquet")
    pq.write_table(pq.read_table(shard).slice(0, 2), shard)
    changed = load_eval_data(str(copy))
    assert len(changed.rows) == 2 and changed.fingerprint != full.fingerprint


def test_images_stay_encoded_until_needed(folder):
    rows = load_eval_data(str(folder)).rows
    assert rows[0]["image"]["bytes"].startswith(b"\x89PNG")


def test_unknown_split_and_missing_folder_are_one_line_errors(folder, tmp_path):
    with pytest.raises(VlmdiagError, match="validation"):
        load_eval_data(str(folder), "validation")
    with pytest.raises(VlmdiagError, match="revision"):
        load_eval_data(str(folder), revision="main")

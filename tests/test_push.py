"""Publishing to the Hub. The Hub's servers cannot be reached from the test machines, so these tests
intercept the client: a stand-in for huggingface_hub.HfApi records what would be sent."""
import pytest

import vlmdiag.tasks
from vlmdiag.errors import VlmdiagError
from vlmdiag.hub import build
from vlmdiag.hub.build import Plan, generate_dataset, split_sizes
from vlmdiag.hub.push import push_folder
from vlmdiag.tasks import get_task


class RecordingHub:
    """Intercepted Hub client: keeps the calls and the files an upload would send."""

    def __init__(self, fail_with=None):
        self.calls, self.fail_with = [], fail_with

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        if self.fail_with:
            raise self.fail_with
        return f"https://huggingface.co/datasets/{repo_id}"

    def upload_folder(self, folder_path, **kwargs):
        from fnmatch import fnmatch
        from pathlib import Path

        root = Path(folder_path)
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                       and any(fnmatch(str(p.relative_to(root)), pat) for pat in kwargs["allow_patterns"]))
        self.calls.append(("upload_folder", files, kwargs))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setitem(vlmdiag.tasks._TASKS, "digits", "toy_task:DigitsTask")
    monkeypatch.setattr(build, "SHARD_ROWS", 4)
    task = get_task("digits")
    return generate_dataset(Plan("digits", task.config_cls(), 0, split_sizes(12, 2, 2)), tmp_path / "d")


def test_push_creates_a_dataset_repo_and_uploads_data_and_card(folder):
    hub = RecordingHub()
    url = push_folder(folder, "org/vlmdiag-digits", private=True, api=hub)
    assert url.endswith("datasets/org/vlmdiag-digits")
    (_, repo, create), (_, files, upload) = hub.calls
    assert repo == "org/vlmdiag-digits" and create["repo_type"] == "dataset" and create["private"]
    assert upload["repo_type"] == "dataset" and upload["repo_id"] == "org/vlmdiag-digits"
    assert "README.md" in files and "generation.json" in files
    assert sorted(f for f in files if f.startswith("data/")) == sorted(
        str(p.relative_to(folder)) for p in (folder / "data").glob("*.parquet"))


@pytest.mark.parametrize("repo_id", ["noslash", "a/b/c", "/name", "org/"])
def test_malformed_repo_id_is_refused_before_any_call(folder, repo_id):
    hub = RecordingHub()
    with pytest.raises(VlmdiagError, match="ORG/NAME"):
        push_folder(folder, repo_id, api=hub)
    assert hub.calls == []


def test_unreachable_hub_is_a_one_line_error(folder):
    with pytest.raises(VlmdiagError, match="push to org/x failed: connection refused"):
        push_folder(folder, "org/x", api=RecordingHub(fail_with=ConnectionError("connection refused\nmore")))


def test_incomplete_folder_is_not_pushed(tmp_path):
    with pytest.raises(VlmdiagError, match="not a complete dataset folder"):
        push_folder(tmp_path, "org/x", api=RecordingHub())

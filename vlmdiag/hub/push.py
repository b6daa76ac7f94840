"""Publishing a generated folder to the Hugging Face Hub: its Parquet shards and card, as written."""
from __future__ import annotations

from pathlib import Path

from vlmdiag.errors import VlmdiagError
from vlmdiag.hub.build import MANIFEST


def push_folder(folder: Path, repo_id: str, private: bool = False, api=None) -> str:
    """Create the dataset repo if needed and upload the folder in one commit; returns its URL.

    Uploading the files as written (rather than re-encoding through ``Dataset.push_to_hub``) keeps the
    Hub copy byte-identical to the local one, card included.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    folder = Path(folder)
    if not (folder / MANIFEST).exists() or not (folder / "README.md").exists():
        raise VlmdiagError(f"{folder} is not a complete dataset folder written by `vlmdiag generate`")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise VlmdiagError(f"Hub repo id must look like ORG/NAME, got {repo_id!r}")
    api = api or HfApi()
    try:
        url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="dataset",
            allow_patterns=["data/*.parquet", "README.md", MANIFEST],
            commit_message=f"Upload {folder.name} with vlmdiag",
        )
    except Exception as e:
        if not _is_network_error(e, HfHubHTTPError):
            raise
        raise VlmdiagError(f"push to {repo_id} failed: {(str(e) or type(e).__name__).splitlines()[0]}") from None
    return str(url)


def _is_network_error(error: Exception, hub_error: type) -> bool:
    """Hub refusals and connection failures are the user's to fix (token, network), not bugs."""
    root = type(error).__module__.split(".")[0]
    return isinstance(error, (hub_error, OSError)) or root in {"httpx", "httpcore", "requests", "urllib3"}

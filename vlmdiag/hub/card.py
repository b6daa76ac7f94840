"""Dataset cards: YAML metadata plus prose, rendered from the templates in ``data_cards/``."""
from __future__ import annotations

import json
import os
from pathlib import Path
from string import Template

import yaml

from vlmdiag.errors import VlmdiagError

_TEMPLATE_DIRS = (
    Path(__file__).resolve().parent.parent / "data_cards",  # installed wheel
    Path(__file__).resolve().parents[2] / "data_cards",  # source checkout
)


def template(name: str, fallback: str | None = None) -> Template:
    for candidate in (name, fallback):
        for folder in _TEMPLATE_DIRS:
            path = folder / f"{candidate}.md"
            if candidate and path.exists():
                return Template(path.read_text())
    raise VlmdiagError(f"no data card template {name}.md")


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "n>1M"


def dataset_info(folder: Path, plan) -> dict:
    """The card's ``dataset_info``: features and per-split rows and bytes.

    Besides informing the Hub viewer, this matters locally: ``datasets`` keys its cache of a local
    folder on the card's metadata and the folder's base name only, so without content-dependent
    sizes a regenerated ``data/graph`` would load the previous run's cached rows.
    """
    from vlmdiag.hub.build import features
    from vlmdiag.tasks import get_task

    splits = []
    for split, size in plan.sizes.items():
        if size:
            files = sorted((Path(folder) / "data").glob(f"{split}-*.parquet"))
            splits.append({"name": split, "num_bytes": sum(f.stat().st_size for f in files), "num_examples": size})
    total = sum(s["num_bytes"] for s in splits)
    return {
        "features": features(get_task(plan.task))._to_yaml_list(),
        "splits": splits,
        "download_size": total,
        "dataset_size": total,
    }


def metadata(folder: Path, plan) -> dict:
    n = sum(plan.sizes.values())
    return {
        "license": "cc-by-4.0",
        "language": ["en"],
        "pretty_name": f"vlmdiag {plan.task}",
        "size_categories": [size_category(n)],
        "task_categories": ["image-text-to-text", "visual-question-answering"],
        "tags": ["vlmdiag", "synthetic", "perception", "reasoning", plan.task],
        "configs": [
            {
                "config_name": "default",
                "data_files": [
                    {"split": split, "path": f"data/{split}-*"} for split, size in plan.sizes.items() if size
                ],
            }
        ],
        "dataset_info": dataset_info(folder, plan),
    }


def render_card(folder: Path, plan) -> str:
    from vlmdiag import __version__

    body = template(plan.task, fallback="generic").substitute(
        task=plan.task,
        seed=plan.seed,
        version=__version__,
        config=json.dumps(plan.config.to_dict(), sort_keys=True),
        splits="\n".join(f"| {split} | {size} |" for split, size in plan.sizes.items()),
        common=template("common").substitute(task=plan.task),
    )
    head = yaml.safe_dump(metadata(folder, plan), sort_keys=False)
    return f"---\n{head}---\n\n{body}"


def write_card(folder: Path, plan) -> None:
    path = Path(folder) / "README.md"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render_card(folder, plan))
    os.replace(tmp, path)

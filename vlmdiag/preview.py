"""Contact sheets: the first items of a generation run, drawn side by side with their metadata."""
from __future__ import annotations

from pathlib import Path

from vlmdiag.hub.build import make_sample
from vlmdiag.seeding import RENDER, rng_for
from vlmdiag.tasks import Task, TaskConfig


def caption(task: Task, meta: dict) -> str:
    return " ".join(f"{key}={meta[key]}" for key in task.breakdown_columns if key in meta)


def write_preview(task: Task, config: TaskConfig, n: int, out: Path, seed: int = 0, columns: int | None = None) -> None:
    from vlmdiag.renderers.sheet import contact_sheet

    images, captions = [], []
    for index in range(n):
        sample = make_sample(task, config, seed, index)
        image, render_meta = task.render(sample, config, rng_for(seed, index, 0, RENDER))
        images.append(image)
        captions.append(f"#{index} " + caption(task, {**sample.meta, **render_meta}))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(images, captions, columns).save(out)

"""Progress columns for work that advances in large steps (a shard at a time).

rich's own speed and time-remaining columns extrapolate from the last few updates, which for a
500-row step in a fraction of a second reads as millions per second. These use the average since
the bar started, counting only the work done in this run (a resumed run starts part-way).
"""
from datetime import timedelta

from rich.progress import ProgressColumn
from rich.text import Text


def _rate(task) -> float | None:
    done = task.completed - task.fields.get("resumed_at", 0)
    return done / task.elapsed if task.elapsed and done > 0 else None


class RateColumn(ProgressColumn):
    def render(self, task) -> Text:
        rate = _rate(task)
        return Text("-- /s" if rate is None else f"{rate:,.1f}/s", style="progress.data.speed")


class EtaColumn(ProgressColumn):
    def render(self, task) -> Text:
        rate = _rate(task)
        if task.finished or rate is None:
            return Text("ETA --" if not task.finished else "", style="progress.remaining")
        left = (task.total - task.completed) / rate
        return Text(f"ETA {timedelta(seconds=round(left))}", style="progress.remaining")

"""A rich progress column showing items per second, which rich itself lacks for plain counts."""
from rich.progress import ProgressColumn
from rich.text import Text


class RateColumn(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- /s" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")

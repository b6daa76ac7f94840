"""The task registry: one line per task. Everything else looks tasks up here."""
from vlmdiag.errors import VlmdiagError
from vlmdiag.tasks.base import Parsed, Sample, Task, TaskConfig, Trace

_TASKS: dict[str, str] = {
    # name -> "module:Class", imported on first use so `vlmdiag --help` stays fast.
    "graph": "vlmdiag.tasks.graph:GraphTask",
    "sudoku": "vlmdiag.tasks.sudoku:SudokuTask",
}
_loaded: dict[str, Task] = {}


def task_names() -> list[str]:
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    if name not in _TASKS:
        raise VlmdiagError(f"unknown task {name!r} (choose from: {', '.join(task_names())})")
    if name not in _loaded:
        import importlib

        module, cls = _TASKS[name].split(":")
        _loaded[name] = getattr(importlib.import_module(module), cls)()
    return _loaded[name]


__all__ = ["Parsed", "Sample", "Task", "TaskConfig", "Trace", "get_task", "task_names"]

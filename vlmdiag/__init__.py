"""vlmdiag: tell apart what a vision-language model sees from what it reasons."""
__version__ = "0.1.0"

from vlmdiag.tasks import get_task, task_names  # noqa: E402

__all__ = ["__version__", "get_task", "task_names"]

"""The `vlmdiag` command line. User mistakes end in one line on stderr and exit code 2."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import click
import typer
from rich.console import Console

from vlmdiag.errors import VlmdiagError

app = typer.Typer(
    help="Tell apart what a vision-language model sees from what it reasons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

# Task options (--clues 22-40, --vertices 7-10 ...) are not known to the CLI: they pass through to
# the task's config, so a new task needs no change here.
TASK_OPTIONS = {"allow_extra_args": True, "ignore_unknown_options": True}
TaskName = typer.Option(..., "--task", help="Task name; `vlmdiag tasks` lists them and their options.")


def task_options(args: list[str]) -> dict[str, str]:
    """['--clues', '22-40', '--style=varied'] -> {'clues': '22-40', 'style': 'varied'}."""
    options, i = {}, 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise VlmdiagError(f"unexpected argument {arg!r}")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise VlmdiagError(f"option --{key} needs a value")
            value, i = args[i + 1], i + 1
        options[key] = value
        i += 1
    return options


def load_config(task_name: str, args: list[str]):
    from vlmdiag.tasks import get_task

    task = get_task(task_name)
    return task, task.config_cls.from_options(task_options(args))


@contextmanager
def progress_bar(description: str, total: int, completed: int = 0):
    """A rich progress bar with rate and ETA; yields ``advance(count)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from vlmdiag.progress import EtaColumn, RateColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               RateColumn(), TimeElapsedColumn(), EtaColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        handle = progress.add_task(description, total=total, completed=completed, resumed_at=completed)
        yield lambda count: progress.advance(handle, count)


def _version(value: bool) -> None:
    if value:
        from vlmdiag import __version__

        print(f"vlmdiag {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Tell apart what a vision-language model sees from what it reasons."""


@app.command(context_settings=TASK_OPTIONS)
def generate(
    ctx: typer.Context,
    task: str = TaskName,
    n: int = typer.Option(..., "--n", help="Total number of instances over all splits."),
    out: Optional[Path] = typer.Option(None, help="Output folder (default data/<task>)."),
    seed: int = typer.Option(0, help="Seed; same seed and options give the same bytes."),
    workers: int = typer.Option(1, min=1, help="Worker processes (output does not depend on it)."),
    test_size: Optional[int] = typer.Option(None, help="Rows in `test` (default 10% of --n)."),
    rl_size: Optional[int] = typer.Option(None, help="Rows in `train_rl` (default half the rest); `train_sft` gets the remainder."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
    push_to_hub: Optional[str] = typer.Option(None, help="Also publish to this Hub dataset repo (ORG/NAME)."),
    private: bool = typer.Option(False, help="Make the Hub repo private when creating it."),
):
    """Generate a dataset folder (Parquet shards, card) loadable with datasets.load_dataset.

    Task options follow the task's config, e.g. --vertices 7-10 --chromatic 2-5 or --clues 22-40.
    """
    from vlmdiag.hub.build import Plan, generate_dataset, split_sizes

    task_obj, config = load_config(task, ctx.args)
    plan = Plan(task=task_obj.name, config=config, seed=seed, sizes=split_sizes(n, test_size, rl_size))
    folder = generate_dataset(plan, out or Path("data") / task_obj.name, workers=workers,
                              overwrite=overwrite, progress_factory=progress_bar)
    sizes = ", ".join(f"{k} {v}" for k, v in plan.sizes.items())
    err.print(f"wrote {folder} ({sizes})")
    if push_to_hub:
        from vlmdiag.hub.push import push_folder

        url = push_folder(folder, push_to_hub, private=private)
        err.print(f"pushed to {url}")


@app.command()
def push(
    folder: Path = typer.Argument(..., help="A folder written by `vlmdiag generate`."),
    repo_id: str = typer.Argument(..., help="Hub dataset repo, ORG/NAME."),
    private: bool = typer.Option(False, help="Make the repo private when creating it."),
):
    """Publish a generated dataset folder (data and card) to the Hugging Face Hub."""
    from vlmdiag.hub.push import push_folder

    err.print(f"pushed to {push_folder(folder, repo_id, private=private)}")


@app.command(context_settings=TASK_OPTIONS)
def preview(
    ctx: typer.Context,
    task: str = TaskName,
    n: int = typer.Option(16, "--n", help="Number of instances on the sheet."),
    out: Path = typer.Option(Path("preview.png"), help="PNG file to write."),
    seed: int = typer.Option(0, help="Seed (the same items as `generate` with this seed)."),
    columns: Optional[int] = typer.Option(None, help="Thumbnails per row."),
):
    """Write a contact sheet of rendered instances with their key metadata."""
    from vlmdiag.preview import write_preview

    if n <= 0:
        raise VlmdiagError(f"--n must be positive, got {n}")
    task_obj, config = load_config(task, ctx.args)
    write_preview(task_obj, config, n, out, seed=seed, columns=columns)
    err.print(f"wrote {out}")


@app.command()
def tasks():
    """List the registered tasks and their options with defaults."""
    import dataclasses

    from vlmdiag.tasks import get_task, task_names

    for name in task_names():
        task = get_task(name)
        print(name)
        for field in dataclasses.fields(task.config_cls):
            default = field.default
            shown = "-".join(map(str, default)) if isinstance(default, tuple) else default
            print(f"  --{field.name.replace('_', '-')} {shown}")


def _click_errors(name: str) -> tuple[type, ...]:
    """Click's exception class of that name, and typer's copy of it (newer typer vendors click)."""
    return tuple({getattr(click.exceptions, name)} | {c for c in typer.BadParameter.__mro__ + (typer.Exit, typer.Abort)
                                                     if c.__name__ == name})


def fail(message: str) -> int:
    # Plain print: rich would wrap a long message over several lines and read brackets as markup.
    print(f"vlmdiag: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def _mount() -> None:
    """The evaluation and training commands live beside their code; they import torch lazily."""
    from vlmdiag.eval.cli import app as eval_app
    from vlmdiag.training.cli import diagnose_app, train_app

    for command in eval_app.registered_commands:
        app.registered_commands.append(command)
    app.add_typer(train_app, name="train")
    app.add_typer(diagnose_app, name="diagnose")


_mount()


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app, turning user errors into one line and exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
    except VlmdiagError as e:
        return fail(str(e))
    except _click_errors("Exit") as e:
        return e.exit_code
    except _click_errors("Abort"):
        err.print("aborted")
        return 130
    except _click_errors("ClickException") as e:
        return fail(e.format_message())
    except KeyboardInterrupt:
        err.print("interrupted; re-run the same command to resume")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

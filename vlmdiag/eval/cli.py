"""`vlmdiag eval`, `vlmdiag score` and `vlmdiag report`: typed functions the main CLI mounts."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from vlmdiag.errors import ConfigError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
out_console = Console()
ENGINE = "vLLM engine"
SAMPLING = "Sampling"
OPENAI = "OpenAI-compatible server"


class BackendName(str, Enum):
    vllm = "vllm"
    openai = "openai"
    hf = "hf"
    replay = "replay"


class Variant(str, Enum):
    auto = "auto"
    prefill = "prefill"
    text = "text"


class Modes(str, Enum):
    all = "all"
    end_to_end = "end_to_end"
    counterfactual = "counterfactual"


@app.command("eval")
def eval_command(
    data: str = typer.Option(..., help="Hub dataset id or a local folder written by `vlmdiag generate`."),
    model: Optional[str] = typer.Option(None, help="Model id or folder (for openai: the served model name)."),
    out: Optional[Path] = typer.Option(None, help="Runs folder (default runs/<model name>); one subfolder per distinct run."),
    split: str = typer.Option("test", help="Dataset split."),
    backend: BackendName = typer.Option(BackendName.vllm, help="vllm, openai, hf or replay."),
    revision: Optional[str] = typer.Option(None, help="Model revision (Hub branch, tag or commit)."),
    data_revision: Optional[str] = typer.Option(None, help="Dataset revision on the Hub."),
    limit: Optional[int] = typer.Option(None, min=1, help="Evaluate only the first N rows."),
    modes: Modes = typer.Option(Modes.all, help="end_to_end (a, a_p), counterfactual (a_r) or all."),
    counterfactual: Variant = typer.Option(Variant.auto, help="How a_r gets the oracle p*: prefill the answer, or text in the prompt; auto = prefill where the backend can."),
    batch_size: Optional[int] = typer.Option(None, min=1, help="Requests per engine call / per written batch (default by backend)."),
    temperature: float = typer.Option(0.0, min=0.0, rich_help_panel=SAMPLING),
    top_p: float = typer.Option(1.0, min=0.0, max=1.0, rich_help_panel=SAMPLING),
    max_tokens: int = typer.Option(2048, min=1, rich_help_panel=SAMPLING),
    seed: int = typer.Option(0, rich_help_panel=SAMPLING, help="Base seed; each request gets its own seed from it."),
    n: int = typer.Option(1, min=1, rich_help_panel=SAMPLING, help="Samples per prompt (each is one trial)."),
    tensor_parallel_size: Optional[int] = typer.Option(None, min=1, rich_help_panel=ENGINE),
    data_parallel_size: Optional[int] = typer.Option(None, min=1, rich_help_panel=ENGINE),
    max_model_len: Optional[int] = typer.Option(None, min=1, rich_help_panel=ENGINE),
    gpu_memory_utilization: Optional[float] = typer.Option(None, min=0.0, max=1.0, rich_help_panel=ENGINE),
    dtype: Optional[str] = typer.Option(None, rich_help_panel=ENGINE, help="e.g. bfloat16, float32."),
    limit_mm_per_prompt: Optional[str] = typer.Option(None, rich_help_panel=ENGINE, help='JSON, default {"image": 1}.'),
    mm_processor_kwargs: Optional[str] = typer.Option(None, rich_help_panel=ENGINE, help='JSON, e.g. {"max_pixels": 1003520}.'),
    enforce_eager: bool = typer.Option(False, rich_help_panel=ENGINE),
    trust_remote_code: bool = typer.Option(False, rich_help_panel=ENGINE),
    engine_arg: List[str] = typer.Option([], rich_help_panel=ENGINE, help="Any other engine option, KEY=JSON (repeatable)."),
    base_url: str = typer.Option("http://127.0.0.1:8000/v1", rich_help_panel=OPENAI),
    api_key_env: str = typer.Option("OPENAI_API_KEY", rich_help_panel=OPENAI, help="Environment variable holding the API key (never recorded)."),
    concurrency: int = typer.Option(16, min=1, rich_help_panel=OPENAI, help="Requests in flight at once."),
    retries: int = typer.Option(5, min=0, rich_help_panel=OPENAI, help="Retries per request, with exponential backoff."),
    timeout: float = typer.Option(600.0, min=1.0, rich_help_panel=OPENAI, help="Seconds per request."),
    responses: Optional[Path] = typer.Option(None, help="replay: JSONL of responses made elsewhere."),
):
    """Evaluate a model: end-to-end (a), perception (a_p) and counterfactual reasoning (a_r).

    Re-running the same command resumes; a changed model, dataset or sampling starts a new run.
    """
    from vlmdiag.eval.backends import make_backend
    from vlmdiag.eval.backends.base import Sampling
    from vlmdiag.eval.data import load_eval_data
    from vlmdiag.eval.requests import MODES
    from vlmdiag.eval.runner import EvalSpec, evaluate

    engine = {k: v for k, v in {
        "tensor_parallel_size": tensor_parallel_size, "data_parallel_size": data_parallel_size,
        "max_model_len": max_model_len, "gpu_memory_utilization": gpu_memory_utilization, "dtype": dtype,
        "limit_mm_per_prompt": _json_option("--limit-mm-per-prompt", limit_mm_per_prompt),
        "mm_processor_kwargs": _json_option("--mm-processor-kwargs", mm_processor_kwargs),
        "enforce_eager": enforce_eager or None, "trust_remote_code": trust_remote_code or None,
    }.items() if v is not None}
    engine.update(_engine_args(engine_arg))
    sampling = Sampling(temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed, n=n)
    evaluation = load_eval_data(data, split, data_revision, limit)
    chosen = make_backend(backend.value, model=model, revision=revision, engine=engine, base_url=base_url,
                          api_key_env=api_key_env, concurrency=concurrency, retries=retries, timeout=timeout,
                          responses=responses, prefill=counterfactual == Variant.prefill)
    try:
        spec = EvalSpec(modes=MODES if modes == Modes.all else (modes.value,),
                        variant=None if counterfactual == Variant.auto else counterfactual.value,
                        sampling=sampling, batch_size=batch_size or chosen.default_batch_size)
        name = Path(model or (responses and responses.stem) or "model").name
        run_dir = evaluate(chosen, evaluation, spec, out or Path("runs") / name, progress=_progress())
    finally:
        chosen.close()
    _show([run_dir])


@app.command("score")
def score_command(runs: List[Path] = typer.Argument(..., help="Run folders (or --out folders holding them).")):
    """Re-parse and re-score saved responses; no model needed."""
    from vlmdiag.eval.runner import find_runs, rescore

    found = find_runs(runs)
    for run_dir in found:
        rescore(run_dir)
    _show(found)


@app.command("report")
def report_command(
    runs: List[Path] = typer.Argument(..., help="Run folders (or --out folders holding them)."),
    figures: Path = typer.Option(Path("report"), help="Folder for the figures."),
):
    """Compare runs: a table of a / a_p / a_r with 95% intervals, and figures."""
    from vlmdiag.eval.report import figures as draw, load_runs, table

    loaded = load_runs(runs)
    out_console.print(table(loaded))
    for path in draw(loaded, figures):
        out_console.print(f"wrote {path}", highlight=False)


def _show(run_dirs: list[Path]) -> None:
    from vlmdiag.eval.report import load_runs, table

    out_console.print(table(load_runs(run_dirs)))
    for run_dir in run_dirs:
        out_console.print(f"results: {run_dir / 'results.json'}", highlight=False)


def _progress():
    from vlmdiag.cli import progress_bar  # the main CLI's bar; imported late to avoid an import cycle

    return progress_bar


def _json_option(name: str, text: str | None):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise ConfigError(f"{name}: not valid JSON: {text!r}") from None


def _engine_args(items: list[str]) -> dict:
    found = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"--engine-arg expects KEY=VALUE, got {item!r}")
        try:
            found[key.replace("-", "_")] = json.loads(value)
        except ValueError:  # a bare word such as auto or bfloat16
            found[key.replace("-", "_")] = value
    return found

"""Compare runs: a table of a / a_p / a_r with 95% intervals and failure causes, plus figures."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from vlmdiag.eval.records import read_records
from vlmdiag.eval.runner import RECORDS, RESULTS, find_runs, write_results

METRICS = ("a", "a_p", "a_r")
LABELS = {"a": "a (end-to-end)", "a_p": "a_p (perception)", "a_r": "a_r (reasoning, oracle p*)"}


@dataclass(frozen=True)
class Run:
    path: Path
    results: dict

    @property
    def identity(self) -> dict:
        return self.results["run"]["identity"]

    @property
    def metrics(self) -> dict:
        return self.results["metrics"]

    def short_name(self) -> str:
        ident = self.identity
        return f"{Path(ident['model']).name} · {Path(ident['dataset']['data']).name}/{ident['dataset']['split']}"


def load_runs(paths: list[Path]) -> list[Run]:
    """Runs under the given paths; a run without results yet (interrupted) gets them from its records."""
    runs = []
    for path in find_runs(paths):
        if (path / RESULTS).exists():
            results = json.loads((path / RESULTS).read_text())
        else:
            results = write_results(path, read_records(path / RECORDS))
        runs.append(Run(path, results))
    return runs


def labels(runs: list[Run]) -> list[str]:
    """Short names, with the run key added where two runs would otherwise look the same."""
    names = [r.short_name() for r in runs]
    twice = Counter(names)
    return [f"{n} [{r.path.name}]" if twice[n] > 1 else n for n, r in zip(names, runs)]


def fmt(p: dict) -> str:
    if p["value"] is None:
        return "-"
    return f"{100 * p['value']:.1f}\n{100 * p['low']:.0f}-{100 * p['high']:.0f}"


def table(runs: list[Run]) -> Table:
    t = Table(title="Accuracy % (95% Wilson interval below); end-to-end failures by cause",
              caption="fail P: wrong perception; fail R: right perception, wrong reasoning; err: no response")
    t.add_column("run\n(task, a_r via)", min_width=14)
    for column in ("n", *METRICS, "fail P", "fail R", "err"):
        t.add_column(column, justify="right")
    for label, run in zip(labels(runs), runs):
        m, shares = run.metrics, run.metrics["failures"]["shares"]
        how = f"({run.identity['task']}, {run.identity['counterfactual']})"
        t.add_row(f"{label}\n{how}", str(m["a"]["n"]), *(fmt(m[k]) for k in METRICS),
                  _pct(shares["perception"]), _pct(shares["reasoning"]), str(m["problems"]["backend_errors"]))
    return t


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


def figures(runs: list[Run], out: Path) -> list[Path]:
    """accuracy.png (the three metrics per run) and one accuracy-by-difficulty figure per task."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    paths = [_accuracy_figure(runs, labels(runs), out / "accuracy.png")]
    for task in sorted({r.identity["task"] for r in runs}):
        chosen = [(label, r) for label, r in zip(labels(runs), runs) if r.identity["task"] == task]
        column = next(iter(chosen[0][1].metrics["breakdowns"]), None)
        if column is not None:
            paths.append(_breakdown_figure(chosen, column, out / f"{task}_by_{column}.png"))
    return paths


def _accuracy_figure(runs: list[Run], names: list[str], path: Path) -> Path:
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(runs) + 2), 4))
    width, x = 0.8 / len(METRICS), np.arange(len(runs))
    for i, metric in enumerate(METRICS):
        values, low, high = _series([r.metrics[metric] for r in runs])
        at = x + (i - 1) * width
        ax.bar(at, values, width, label=LABELS[metric])
        # Drawn apart from the bars: bar(yerr=...) trips a NumPy deprecation inside matplotlib.
        ax.errorbar(at, values, yerr=np.vstack([values - low, high - values]), fmt="none", ecolor="black", capsize=3)
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set(ylim=(0, 1.03), ylabel="accuracy (95% Wilson interval)")
    ax.legend(fontsize="small")
    return _save(fig, path)


def _breakdown_figure(chosen: list[tuple[str, Run]], column: str, path: Path) -> Path:
    import matplotlib.pyplot as plt
    import numpy as np

    # Runs may not share every group: place each on the union of groups, in first-seen order.
    keys = list(dict.fromkeys(k for _, run in chosen for k in run.metrics["breakdowns"][column]))
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4 * len(METRICS), 3.6), sharey=True)
    for ax, metric in zip(axes, METRICS):
        for label, run in chosen:
            groups = run.metrics["breakdowns"][column]
            values, low, high = _series([groups[k][metric] for k in groups])
            x = np.array([keys.index(k) for k in groups])
            ax.errorbar(x, values, yerr=np.vstack([values - low, high - values]), marker="o", capsize=3, label=label)
        ax.set_xticks(np.arange(len(keys)), keys, rotation=20)
        ax.set(title=LABELS[metric], xlabel=column, ylim=(0, 1.03))
    axes[0].set_ylabel("accuracy (95% Wilson interval)")
    axes[-1].legend(fontsize="small")
    return _save(fig, path)


def _series(props: list[dict]):
    import numpy as np

    def col(key: str):
        return np.array([np.nan if p[key] is None else p[key] for p in props], dtype=float)

    return col("value"), col("low"), col("high")


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

"""Graph-colouring generation speed, in instances per second on one core.

End to end: the dataset builder's own row function (instance + exact chromatic number + render +
PNG + chain-of-thought + text fields) for every instance, then the rows written to a Parquet file
the way the builder writes a shard. In the same run, for the very same graphs: the renderer alone
(+ PNG), and the drawing most people would write — networkx.draw on matplotlib's Agg backend at the
same pixel size, saved as PNG. Single process, so figures are per core.

    python benchmarks/bench_graph.py --n 2000 --seed 0
"""
from __future__ import annotations

import argparse
import io
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import datasets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

from vlmdiag.hub.build import features, make_row, make_sample  # noqa: E402
from vlmdiag.renderers import encode_png  # noqa: E402
from vlmdiag.seeding import RENDER, rng_for  # noqa: E402
from vlmdiag.tasks import get_task  # noqa: E402


def end_to_end(task, config, seed: int, n: int) -> tuple[float, list[dict]]:
    """Seconds to make and write n rows (SFT rows: with their trace, the costliest split)."""
    start = time.perf_counter()
    rows = [make_row(task, config, seed, i) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        datasets.Dataset.from_list(rows, features=features(task)).to_parquet(str(Path(tmp) / "shard.parquet"))
    return time.perf_counter() - start, rows


def render_only(task, config, seed: int, problems: list) -> float:
    start = time.perf_counter()
    for i, sample in enumerate(problems):
        image, _ = task.render(sample, config, rng_for(seed, i, stream=RENDER))
        encode_png(image)
    return time.perf_counter() - start


def reference(problems: list, size: int, seed: int) -> float:
    """networkx + matplotlib: spring layout, labelled nodes, one figure per graph, PNG to memory."""
    start = time.perf_counter()
    for i, sample in enumerate(problems):
        graph = nx.Graph()
        graph.add_nodes_from(range(sample.problem["v"]))
        graph.add_edges_from(map(tuple, sample.problem["edges"]))
        fig = plt.figure(figsize=(size / 100, size / 100), dpi=100)
        nx.draw(graph, nx.spring_layout(graph, seed=seed + i), with_labels=True, node_color="#dfe9f5",
                edgecolors="black", ax=fig.add_axes((0, 0, 1, 1)))
        fig.savefig(io.BytesIO(), format="png", dpi=100)
        plt.close(fig)
    return time.perf_counter() - start


def warm_up(task, config, seed: int) -> None:
    """Compile (or load from numba's cache) every layout's kernels and load fonts: not part of a rate."""
    for kind in ("circular", "spring", "random"):
        make_row(task, replace(config, layout=kind), seed, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="instances per measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--style", default="clean", choices=("clean", "varied"))
    args = parser.parse_args()
    datasets.disable_progress_bars()

    task = get_task("graph")
    config = task.config_cls(style=args.style)
    warm_up(task, config, args.seed)
    seconds, rows = end_to_end(task, config, args.seed, args.n)
    problems = [make_sample(task, config, args.seed, i) for i in range(args.n)]
    ours = render_only(task, config, args.seed, problems)
    ref_n = max(1, args.n // 10)  # the reference is slow; a tenth of the graphs gives a steady rate
    ref = reference(problems[:ref_n], config.image_size, args.seed) / ref_n * args.n

    png_kb = sum(len(r["image"]["bytes"]) for r in rows) / len(rows) / 1024
    table = [
        ("end to end (row + parquet write)", seconds),
        ("render + PNG only", ours),
        (f"reference networkx.draw + savefig ({ref_n} graphs)", ref),
    ]
    print(f"graph, style {args.style}, {config.image_size} px, n={args.n}, seed={args.seed}, mean PNG {png_kb:.1f} KiB")
    print(f"{'measurement':<48}{'inst/s':>10}{'ms/inst':>10}")
    for name, total in table:
        print(f"{name:<48}{args.n / total:>10.1f}{1000 * total / args.n:>10.2f}")
    print(f"{'end to end vs reference':<48}{ref / seconds:>9.1f}x")


if __name__ == "__main__":
    main()

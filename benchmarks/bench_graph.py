"""Graph-colouring generation speed, in instances per second on one core.

End to end: the dataset builder's own row function (instance + exact chromatic number + render +
PNG + chain-of-thought + text fields) for every instance, then the rows written to a Parquet file
the way the builder writes a shard. In the same run, for the very same graphs: the renderer alone
(+ PNG), and the drawing most people would write — networkx.draw on matplotlib's Agg backend at the
same pixel size, saved as PNG.

Single process, so figures are per core. The measurements are interleaved in rounds so that load
from other processes on a shared machine weighs on all of them alike; rates are given both per
wall-clock second and per second of this process's CPU time.

    python benchmarks/bench_graph.py --n 2000 --seed 0
"""
from __future__ import annotations

import argparse
import io
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import datasets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

from vlmdiag.hub.build import features, make_row, make_sample  # noqa: E402
from vlmdiag.renderers import encode_png  # noqa: E402
from vlmdiag.seeding import RENDER, rng_for  # noqa: E402
from vlmdiag.tasks import get_task  # noqa: E402

ROUNDS = 5
REFERENCE_SHARE = 10  # the reference is slow: it draws every tenth graph


def end_to_end(task, config, seed: int, indices: range, out: Path) -> None:
    """Make and write rows (SFT rows: with their trace, the costliest split)."""
    rows = [make_row(task, config, seed, i) for i in indices]
    datasets.Dataset.from_list(rows, features=features(task)).to_parquet(str(out / f"{indices.start}.parquet"))


def render_only(task, config, seed: int, problems: list, indices: range) -> None:
    for i in indices:
        image, _ = task.render(problems[i], config, rng_for(seed, i, stream=RENDER))
        encode_png(image)


def reference(problems: list, indices: range, size: int, seed: int) -> None:
    """networkx + matplotlib: spring layout, labelled nodes, one figure per graph, PNG to memory."""
    for i in indices:
        graph = nx.Graph()
        graph.add_nodes_from(range(problems[i].problem["v"]))
        graph.add_edges_from(map(tuple, problems[i].problem["edges"]))
        fig = plt.figure(figsize=(size / 100, size / 100), dpi=100)
        nx.draw(graph, nx.spring_layout(graph, seed=seed + i), with_labels=True, node_color="#dfe9f5",
                edgecolors="black", ax=fig.add_axes((0, 0, 1, 1)))
        fig.savefig(io.BytesIO(), format="png", dpi=100)
        plt.close(fig)


def warm_up(task, config, seed: int) -> None:
    """Compile (or load from numba's cache) every layout's kernels and load fonts: not part of a rate."""
    for kind in ("circular", "spring", "random"):
        make_row(task, replace(config, layout=kind), seed, 0)


class Clock:
    """Accumulated wall-clock and CPU seconds, and instances, per measurement."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = {}

    def time(self, name: str, count: int, work: Callable[[], None]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        total = self.totals.setdefault(name, [0.0, 0.0, 0])
        total[0] += time.perf_counter() - wall
        total[1] += time.process_time() - cpu
        total[2] += count

    def rate(self, name: str, kind: int) -> float:
        return self.totals[name][2] / self.totals[name][kind]


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
    problems = [make_sample(task, config, args.seed, i) for i in range(args.n)]
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(ROUNDS):
            part = range(r * args.n // ROUNDS, (r + 1) * args.n // ROUNDS)
            few = part[::REFERENCE_SHARE]
            clock.time("end to end (row + parquet write)", len(part),
                       lambda: end_to_end(task, config, args.seed, part, Path(tmp)))
            clock.time("render + PNG only", len(part), lambda: render_only(task, config, args.seed, problems, part))
            clock.time(f"reference: networkx.draw + savefig (1 in {REFERENCE_SHARE})", len(few),
                       lambda: reference(problems, few, config.image_size, args.seed))

    print(f"graph, style {args.style}, {config.image_size} px, n={args.n}, seed={args.seed}")
    print(f"{'measurement':<52}{'inst/s wall':>12}{'inst/s CPU':>12}{'ms CPU':>8}")
    for name in clock.totals:
        cpu = clock.rate(name, 1)
        print(f"{name:<52}{clock.rate(name, 0):>12.1f}{cpu:>12.1f}{1000 / cpu:>8.2f}")
    names = list(clock.totals)
    print(f"{'end to end vs reference':<52}{clock.rate(names[0], 0) / clock.rate(names[2], 0):>11.1f}x"
          f"{clock.rate(names[0], 1) / clock.rate(names[2], 1):>11.1f}x")


if __name__ == "__main__":
    main()

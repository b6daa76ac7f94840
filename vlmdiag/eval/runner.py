"""Run an evaluation into a run folder, resumably, and (re)write its results.

A run folder ``<out>/<key>/`` holds ``run.json`` (what defines the run), ``records.jsonl`` (one
scored record per request and sample) and ``results.json`` (metrics plus provenance). The key is a
digest of everything that changes what the model is asked or says: backend, model and revision,
dataset and its revision or fingerprint, split, task, counterfactual variant, sampling and the
output-relevant engine options. Re-running a command resumes its folder; changing any of those
starts another folder beside it, so records of different runs never mix.
"""
from __future__ import annotations

import hashlib
import json
import os
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from vlmdiag import __version__
from vlmdiag.errors import VlmdiagError
from vlmdiag.eval.backends.base import Backend, Generation, Sampling, failed
from vlmdiag.eval.metrics import compute_metrics
from vlmdiag.eval.provenance import command_line, git_commit, versions
from vlmdiag.eval.records import RecordLog, read_records
from vlmdiag.eval.requests import MODES, PREFILL, Request, build_requests
from vlmdiag.eval.scoring import new_record, score_record
from vlmdiag.tasks import get_task

RUN, RECORDS, RESULTS = "run.json", "records.jsonl", "results.json"


@dataclass(frozen=True)
class EvalSpec:
    modes: tuple[str, ...] = MODES
    variant: str | None = None  # counterfactual variant; None: prefill if the backend can, else text
    sampling: Sampling = Sampling()
    batch_size: int = 256

    def resolve(self, backend: Backend) -> "EvalSpec":
        if self.variant == PREFILL and not backend.supports_prefill:
            raise VlmdiagError(f"the {backend.name} backend cannot prefill the assistant turn; use --counterfactual text")
        variant = self.variant or (PREFILL if backend.supports_prefill else "text")
        return EvalSpec(self.modes, variant, self.sampling, self.batch_size)


def run_identity(backend: Backend, data, spec: EvalSpec) -> dict:
    return {"backend": backend.name, **backend.identity(), "dataset": data.identity(), "task": data.task,
            "counterfactual": spec.variant, "sampling": spec.sampling.to_dict(), "prompt_version": __version__}


def run_key(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]


def evaluate(backend: Backend, data, spec: EvalSpec, out: Path, progress: Callable | None = None,
             argv: list[str] | None = None) -> Path:
    """Evaluate (or finish evaluating) ``data`` with ``backend``; returns the run folder."""
    spec = spec.resolve(backend)
    task = get_task(data.task)
    identity = run_identity(backend, data, spec)
    run_dir = Path(out) / run_key(identity)
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_json(run_dir / RUN, {"identity": identity, "settings": backend.settings(),
                                "batch_size": spec.batch_size, "modes": list(spec.modes)})
    requests = build_requests(data, task, spec.modes, spec.variant, spec.sampling.seed)
    log = RecordLog(run_dir / RECORDS)
    todo = _unfinished(requests, log.records, spec.sampling.n, run_dir)
    have = {(r["id"], r["mode"], r["k"]) for r in log.records}
    problems, metas = _problems(data, task), _metas(data, task)
    factory = progress or (lambda *a, **k: nullcontext(lambda n: None))
    with factory("evaluating", len(requests), len(requests) - len(todo)) as advance:
        for batch in _batches(requests, todo, spec.batch_size):
            generations = generate_isolated(backend, batch, spec.sampling)
            log.append([score_record(task, new_record(req, k, gen, problems[req.row][0], metas[req.row]),
                                     problems[req.row][1])
                        for req, gen in zip(batch, generations) for k in range(spec.sampling.n)
                        if (req.id, req.mode, k) not in have])
            advance(len(batch))
    write_results(run_dir, log.records, argv)
    return run_dir


def generate_isolated(backend: Backend, requests: list[Request], sampling: Sampling) -> list[Generation]:
    """Generate a batch; if it fails, retry one by one so one bad request only fails itself.

    If every request of a batch fails on its own too, the backend is broken rather than the
    requests: stop instead of recording a run's worth of errors that a resume would not retry.
    """
    try:
        generations = backend.generate(requests, sampling)
    except Exception as e:  # noqa: BLE001 - any engine failure is isolated, then recorded
        if len(requests) == 1:
            return [failed(e)]
        generations = [generate_isolated(backend, [r], sampling)[0] for r in requests]
        if all(g.error for g in generations):
            raise VlmdiagError(f"the {backend.name} backend failed on every request of a batch: {generations[0].error}") from e
    if len(generations) != len(requests):
        raise VlmdiagError(f"the {backend.name} backend returned {len(generations)} results for {len(requests)} requests")
    return generations


def write_results(run_dir: Path, records: list[dict], argv: list[str] | None = None) -> dict:
    run = json.loads((run_dir / RUN).read_text())
    task = get_task(run["identity"]["task"])
    results = {
        "metrics": compute_metrics(records, task.breakdown_columns),
        "run": {**run, "key": run_dir.name, "records": len(records), "versions": versions(),
                "git_commit": git_commit(), "command": command_line(argv)},
    }
    _write_json(run_dir / RESULTS, results)
    return results


def rescore(run_dir: Path, argv: list[str] | None = None) -> dict:
    """Parse and score every saved response again (after a parser or verifier change)."""
    from vlmdiag.eval.records import rewrite

    task = get_task(json.loads((Path(run_dir) / RUN).read_text())["identity"]["task"])
    records = [score_record(task, r) for r in read_records(Path(run_dir) / RECORDS)]
    rewrite(Path(run_dir) / RECORDS, records)
    return write_results(Path(run_dir), records, argv)


def find_runs(paths: list[Path]) -> list[Path]:
    """Run folders named directly or found one level below (an --out folder holds one per key)."""
    runs = []
    for path in map(Path, paths):
        if (path / RUN).exists():
            runs.append(path)
        elif path.is_dir():
            runs.extend(sorted(p.parent for p in path.glob(f"*/{RUN}")))
    if not runs:
        raise VlmdiagError(f"no run folders found in {', '.join(map(str, paths))}")
    return runs


def _unfinished(requests: list[Request], records: list[dict], n: int, run_dir: Path) -> set:
    seen: dict = {}
    for r in records:
        seen.setdefault((r["id"], r["mode"]), []).append(r)
    todo = set()
    for req in requests:
        done = seen.get(req.key, [])
        if any(r["prompt_hash"] != req.prompt_hash or r["image_hash"] != req.image_hash for r in done):
            raise VlmdiagError(f"{run_dir} holds records for {req.id} made from a different prompt or image; "
                               "use another --out")
        if len(done) < n:
            todo.add(req.key)
    return todo


def _batches(requests: list[Request], todo: set, size: int):
    """Fixed batch boundaries over the full request list, so a resumed batch is the same batch."""
    for start in range(0, len(requests), size):
        batch = [r for r in requests[start:start + size] if r.key in todo]
        if batch:
            yield batch


def _problems(data, task) -> list[tuple[str, object]]:
    return [(gt, task.load_problem(gt)) for gt in data.rows["ground_truth"]]


def _metas(data, task) -> list[dict]:
    """Each row's breakdown metadata, carried in its records so reports need no dataset."""
    columns = [c for c in task.breakdown_columns if c in data.rows.column_names]
    if not columns:
        return [{}] * len(data.rows)
    return data.rows.select_columns(columns).to_list()


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)

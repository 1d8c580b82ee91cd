"""Fit the ``search`` agent's candidate ranking on the ``train`` split of a generated corpus.

    uv run python bench/fit_search_ranking.py tasks/data/corpus.jsonl.gz --tasks 1200

For every single-bug ``train`` task (never ``validation`` or ``test``): run its visible tests once on
the buggy program (real sandbox), let :func:`tracefix.agents.repair.candidates` propose its edits, and
mark the edits whose program is the reference (same normalised AST).  Then fit
``score = susp ** a * prior ** b * weight[kind] * weight[kind/symptom]`` by maximising the softmax probability of the
correct edits among each task's candidates (gradient ascent, L2 on the kind weights), and print the
values to put in :mod:`tracefix.agents.repair.ranking`, with the rank of the fix before and after.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tracefix.agents.repair import Failure, candidates, compiles
from tracefix.agents.repair.ranking import symptom_of
from tracefix.core.context import join_lines, split_lines
from tracefix.corpus.mutators import normalised_ast_hash
from tracefix.tasks.grading import run_tests
from tracefix.tasks.schema import parse_task, read_lines


def collect(task) -> dict:
    report = run_tests(task.buggy_code, task, include_hidden=False)
    failures = [Failure.parse(v.name, v.message) for v in report.verdicts if not v.passed]
    reference = normalised_ast_hash(task.reference_code)
    symptom = symptom_of(failures)
    rows = []
    for c in candidates(split_lines(task.buggy_code), failures):
        if not compiles(c.lines):
            continue
        try:
            good = normalised_ast_hash(join_lines(list(c.lines))) == reference
        except (SyntaxError, ValueError, RecursionError):
            continue
        rows.append((c.operator, c.prior, c.susp, int(good)))
    return {"id": task.id, "symptom": symptom, "rows": rows}


def fit(tasks: list[dict], kinds: list[str], epochs: int = 300, l2: float = 0.05) -> tuple[float, float, dict[str, float]]:
    """Weights per edit kind and per ``kind/symptom`` pair (both in one table, the pairs marked by ``/``)."""
    keys = list(kinds) + sorted({f"{r[0]}/{t['symptom']}" for t in tasks for r in t["rows"]})
    index = {k: i for i, k in enumerate(keys)}
    groups = []
    for t in tasks:
        rows = t["rows"]
        if not any(r[3] for r in rows):
            continue
        x = np.zeros((len(rows), 2 + len(keys)))
        y = np.zeros(len(rows))
        for j, (op, prior, susp, good) in enumerate(rows):
            x[j, 0] = math.log(max(susp, 1e-6))
            x[j, 1] = math.log(max(prior, 1e-6))
            x[j, 2 + index[op]] = 1.0
            x[j, 2 + index[f"{op}/{t['symptom']}"]] = 1.0
            y[j] = good
        groups.append((x, y))
    theta = np.zeros(2 + len(kinds))
    theta[0] = theta[1] = 1.0
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    lr = 0.05
    for epoch in range(1, epochs + 1):
        grad = np.zeros_like(theta)
        for x, y in groups:
            s = x @ theta
            s -= s.max()
            p = np.exp(s)
            p /= p.sum()
            q = p * y
            q /= q.sum()
            grad += x.T @ (q - p)
        grad /= len(groups)
        grad[2:] -= l2 * theta[2:]
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        theta += lr * (m / (1 - 0.9 ** epoch)) / (np.sqrt(v / (1 - 0.999 ** epoch)) + 1e-8)
    weights = {k: round(float(math.exp(theta[2 + i])), 4) for k, i in index.items()}
    return round(float(theta[0]), 4), round(float(theta[1]), 4), weights


def ranks(tasks: list[dict], a: float, b: float, weights: dict[str, float]) -> list[int]:
    found = []
    for t in tasks:
        scored = sorted(t["rows"], key=lambda r: -(max(r[2], 1e-6) ** a * max(r[1], 1e-6) ** b * weights.get(r[0], 1.0)
                                                   * weights.get(f"{r[0]}/{t['symptom']}", 1.0)))
        rank = next((i + 1 for i, r in enumerate(scored) if r[3]), None)
        if rank is not None:
            found.append(rank)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--tasks", type=int, default=1200, help="single-bug train tasks to use")
    parser.add_argument("--data", type=Path, help="cache of the collected candidates (JSON Lines)")
    args = parser.parse_args()
    if args.data and args.data.exists():
        collected = [json.loads(line) for line in args.data.read_text().splitlines()]
    else:
        records = [json.loads(line) for line in read_lines(args.corpus) if line.strip()]
        records = [r for r in records if "split:train" in r["tags"] and "bugs:1" in r["tags"]]
        random.Random(0).shuffle(records)
        tasks = [parse_task(r) for r in records[: args.tasks]]
        with ThreadPoolExecutor(2) as pool:
            collected = list(pool.map(collect, tasks))
        if args.data:
            args.data.write_text("".join(json.dumps(c) + "\n" for c in collected))
    kinds = sorted({r[0] for t in collected for r in t["rows"]})
    half = len(collected) // 2
    fit_part, check_part = collected[:half], collected[half:]
    before = ranks(check_part, 1.0, 1.0, {})
    a, b, weights = fit(fit_part, kinds)
    after = ranks(check_part, a, b, weights)

    def summary(found: list[int]) -> str:
        n = len(check_part)
        return (f"fix found {len(found)}/{n}; within 5: {sum(r <= 5 for r in found) / n:.2f}, within 22: "
                f"{sum(r <= 22 for r in found) / n:.2f}; median rank {sorted(found)[len(found) // 2] if found else '-'}")

    print("held-out half of the train tasks, before:", summary(before), file=sys.stderr)
    print("held-out half of the train tasks, after: ", summary(after), file=sys.stderr)
    a, b, weights = fit(collected, kinds)
    print(json.dumps({"SUSP_POWER": a, "PRIOR_POWER": b,
                      "OPERATOR_WEIGHT": {k: v for k, v in weights.items() if "/" not in k},
                      "SYMPTOM_WEIGHT": {k: v for k, v in weights.items() if "/" in k}}, indent=1))


if __name__ == "__main__":
    main()

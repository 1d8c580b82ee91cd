"""Benchmark: what the environment layers cost on top of the sandbox run they wrap.

Same task, same run, three ways, measured in one process so that the ratios are meaningful on a
shared, noisy machine:

  (a) sandbox   ``Sandbox.execute`` of the task's visible tests (the baseline)
  (b) core      ``TraceFixRLGym.step(RUN_TESTS)`` in-process (grading, rewards, observation)
  (c) server    the same step over WebSocket through the embedded OpenEnv server

and, as a yardstick, (d) the bare start of the interpreter (``python -I -S -c pass``, no sandbox, no
test): the last column says what a whole sandboxed RUN_TESTS through the server costs compared with
merely starting a fresh Python, which is what a sandbox without warm zygotes would pay per run.
The paths are timed round-robin (one call of each per round), so a change of load on a shared
machine during the run moves all of them alike.

plus the memory an idle WebSocket session costs the server (RSS growth over N open sessions).

    uv run python bench/env.py [--runs 300] [--sessions 32] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable


def _summary(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50_ms": statistics.median(samples) * 1000,
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
        "per_s": len(samples) / sum(samples),
    }


def _measure_interleaved(paths: dict[str, Callable[[], object]], runs: int,
                         every: dict[str, int]) -> dict[str, dict[str, float]]:
    """Time the paths round-robin (one call of each per round), so that load changing on a shared
    machine during the run shifts every path alike and their ratios stay meaningful.
    ``every[name] = k`` times that path only every k-th round (for slow paths)."""
    for fn in paths.values():
        for _ in range(max(3, runs // 20)):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for round_number in range(runs):
        for name, fn in paths.items():
            if round_number % every.get(name, 1):
                continue
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    return {name: _summary(values) for name, values in samples.items()}


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--task", default="curated/chunk_off_by_one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from tracefix.client import TraceFixEnv
    from tracefix.core.environment import TraceFixRLGym
    from tracefix.models import CodeAction
    from tracefix.sandbox import get_sandbox
    from tracefix.server.embedded import embedded_server
    from tracefix.tasks.grading import build_program
    from tracefix.tasks.registry import default_registry

    task = default_registry().get(args.task)
    sandbox = get_sandbox()
    program = build_program(task.buggy_code, task, task.visible_tests)
    run = CodeAction(action_type="RUN_TESTS")

    python = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    bare = [python, "-I", "-S", "-c", "pass"]
    gym = TraceFixRLGym()
    gym.reset(task_id=task.id, max_steps=500)

    def core_step() -> None:
        if gym.state.step_count >= 480:
            gym.reset(task_id=task.id, max_steps=500)
        gym.step(run)

    with embedded_server() as url, TraceFixEnv(base_url=url).sync() as client:
        client.reset(task_id=task.id, max_steps=500)
        counter = {"n": 0}

        def server_step() -> None:
            counter["n"] += 1
            if counter["n"] % 480 == 0:
                client.reset(task_id=task.id, max_steps=500)
            client.step(run)

        results = _measure_interleaved({
            "bare `python -I -S -c pass`": lambda: subprocess.run(bare, check=True),
            "sandbox (baseline)": lambda: sandbox.execute(program),
            "core step": core_step,
            "server step (WebSocket)": server_step,
        }, args.runs, every={"bare `python -I -S -c pass`": 3})

        before = _rss_mb()
        clients = [TraceFixEnv(base_url=url).sync() for _ in range(args.sessions)]
        for extra in clients:
            extra.reset(task_id=task.id)
        after = _rss_mb()
        for extra in clients:
            extra.close()
    memory = {"sessions": args.sessions, "rss_mb_per_session": (after - before) / max(1, args.sessions)}

    base = results["sandbox (baseline)"]["p50_ms"]
    if args.json:
        print(json.dumps({"results": results, "memory": memory}, indent=2))
        return
    print(f"task {task.id}, {args.runs} runs each\n")
    start = results["bare `python -I -S -c pass`"]["p50_ms"]
    print("| path | p50 ms | p99 ms | runs/s | p50 vs sandbox | p50 vs bare python start |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in results.items():
        print(f"| {name} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['per_s']:.0f} | "
              f"{row['p50_ms'] / base:.2f}x | {row['p50_ms'] / start:.2f}x |")
    print(f"\nmemory: {memory['rss_mb_per_session']:.2f} MB RSS per open session ({args.sessions} sessions, client and server in one process)")


if __name__ == "__main__":
    main()

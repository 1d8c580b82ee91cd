"""Benchmark: rollout throughput of N TraceFixToolEnv instances driven by the ``search`` agent.

The same workload for every N (one episode of each task of the split, dealt round-robin to the N
instances), so episodes/s can be compared as a ratio to N = 1 measured in the same run.  Two ways
to drive the instances:

  lockstep  one thread, one tool call per unfinished instance per round: what GRPOTrainer does
            with a batch of rollouts (it runs the batch's tool calls one after another)
  threads   one thread per instance: what a trainer with parallel tool execution could get

and two back ends: in-process (each instance its own core, one shared sandbox) and server (each
instance its own WebSocket session to the embedded server on 127.0.0.1).

    uv run python bench/tool_env.py [--split curated] [--sizes 1,4,16] [--rounds 2] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from typing import Any, Optional


def call_tool(env: Any, action: Any) -> str:
    """Play one CodeAction through the tool method of the same name."""
    from tracefix.core.actions import spec_for

    spec = spec_for(action.action_type)
    arguments = {arg.tool_name: getattr(action, arg.field) for arg in spec.args}
    return getattr(env, spec.tool)(**arguments)


class Rollout:
    """One tool environment working through its share of the tasks with its own search agent."""

    def __init__(self, env: Any, task_ids: list[str]) -> None:
        from tracefix.agents.search import SearchAgent

        self.env, self.pending, self.agent = env, list(task_ids), SearchAgent()
        self.episodes = self.successes = 0
        self.active = False

    def start_next(self) -> bool:
        if not self.pending:
            self.active = False
            return False
        self.env.reset(task_id=self.pending.pop(0))
        self.agent.reset(self.env.observation)
        self.active = True
        return True

    def advance(self) -> None:
        """One tool call; finishing an episode starts the next one."""
        call_tool(self.env, self.agent.act(self.env.observation))
        if self.env.done:
            self.episodes += 1
            self.successes += bool(self.env.observation.success)
            self.start_next()


def run_lockstep(rollouts: list[Rollout]) -> None:
    for rollout in rollouts:
        rollout.start_next()
    while any(r.active for r in rollouts):
        for rollout in rollouts:
            if rollout.active:
                rollout.advance()


def run_threads(rollouts: list[Rollout]) -> None:
    def work(rollout: Rollout) -> None:
        rollout.start_next()
        while rollout.active:
            rollout.advance()

    threads = [threading.Thread(target=work, args=(r,)) for r in rollouts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure(task_ids: list[str], size: int, mode: str, base_url: Optional[str]) -> dict[str, float]:
    from tracefix.adapters.trl_env import TraceFixToolEnv

    envs = [TraceFixToolEnv(base_url=base_url) for _ in range(size)]
    rollouts = [Rollout(env, task_ids[i::size]) for i, env in enumerate(envs)]
    started = time.perf_counter()
    (run_lockstep if mode == "lockstep" else run_threads)(rollouts)
    elapsed = time.perf_counter() - started
    for env in envs:
        env._close()
    episodes = sum(r.episodes for r in rollouts)
    assert episodes == len(task_ids), f"{episodes} episodes for {len(task_ids)} tasks"
    return {"episodes": episodes, "seconds": elapsed, "episodes_per_s": episodes / elapsed,
            "success_rate": sum(r.successes for r in rollouts) / episodes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="curated")
    parser.add_argument("--sizes", default="1,4,16")
    parser.add_argument("--modes", default="lockstep,threads")
    parser.add_argument("--backends", default="in-process,server")
    parser.add_argument("--rounds", type=int, default=2, help="Episodes per task in each measurement.")
    parser.add_argument("--repeats", type=int, default=3, help="Measurements per row (the median is shown).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from tracefix.server.embedded import embedded_server
    from tracefix.tasks.registry import default_registry

    task_ids = [task.id for task in default_registry().tasks(args.split)] * max(1, args.rounds)
    sizes = [int(size) for size in args.sizes.split(",")]
    configs = [(backend, mode, size) for backend in args.backends.split(",") for mode in args.modes.split(",") for size in sizes]
    samples: dict[tuple[str, str, int], list[dict[str, float]]] = {config: [] for config in configs}
    with embedded_server(max_sessions=max(sizes) + 4) as url:
        measure(task_ids[: len(task_ids) // max(1, args.rounds)], 1, "lockstep", None)  # warm-up: sandbox, baselines
        # Interleave the repeats so that load changes on a shared machine hit every row alike.
        for _ in range(max(1, args.repeats)):
            for backend, mode, size in configs:
                samples[(backend, mode, size)].append(measure(task_ids, size, mode, url if backend == "server" else None))
    rows = []
    for backend, mode, size in configs:
        rates = [sample["episodes_per_s"] for sample in samples[(backend, mode, size)]]
        baseline = statistics.median(s["episodes_per_s"] for s in samples[(backend, mode, sizes[0])])
        rows.append({
            "backend": backend, "mode": mode, "N": size, "episodes_per_s": statistics.median(rates),
            "ratio_to_N1": statistics.median(rates) / baseline, "runs": len(rates),
            "success_rate": samples[(backend, mode, size)][0]["success_rate"],
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"search agent, {len(task_ids)} episodes ({args.split}) per measurement, median of {args.repeats}\n")
    print("| back end | driven | N | episodes/s | vs N = 1 | solved |")
    print("|---|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['backend']} | {row['mode']} | {row['N']} | {row['episodes_per_s']:.2f} | "
              f"{row['ratio_to_N1']:.2f}x | {row['success_rate']:.0%} |")


if __name__ == "__main__":
    main()

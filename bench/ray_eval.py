"""Scaling benchmark: the same evaluation on the single-process path and on 1 and 2 Ray actors.

The same episodes (agent ``search`` on every task of a split, ``--episodes`` per task) are played

  (a) single process   one embedded server (sandbox pool of ``--workers``), ``--workers`` sessions
                       at once: what ``tracefix eval`` does without ``--ray`` (the baseline);
  (b) Ray, 1 actor     one actor (its own embedded server, a pool of 1 worker), ``--per-actor``
                       episodes at once;
  (c) Ray, 2 actors    two such actors,

all in one run on a local Ray cluster (127.0.0.1 only), and the rows of every path are checked to
be identical (deterministic fields).  Actors are started and warm before the clock starts; the
cluster and actor start-up times are reported apart.  Needs the ``ray`` extra.

    uv run --extra ray python bench/ray_eval.py [--split curated] [--episodes 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DETERMINISTIC = ("task", "agent", "episode", "seed", "steps", "rewards", "return", "score", "success", "done")


def _same(a: List[Dict[str, Any]], b: List[Dict[str, Any]]) -> bool:
    key = lambda r: (r["agent"], r["task"], r["episode"])  # noqa: E731
    return [{k: r[k] for k in DETERMINISTIC} for r in sorted(a, key=key)] == \
        [{k: r[k] for k in DETERMINISTIC} for r in sorted(b, key=key)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="curated")
    parser.add_argument("--agent", default="search")
    parser.add_argument("--episodes", type=int, default=2, help="episodes per task")
    parser.add_argument("--workers", type=int, default=2, help="sessions at once on the single-process path")
    parser.add_argument("--per-actor", type=int, default=2, help="episodes at once per Ray actor")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from tracefix.cli.eval import local_rows, plan_jobs
    from tracefix.cli.eval_ray import init_ray, play_on, start_actors, stop_actors
    from tracefix.failover import ServerSet
    from tracefix.server.embedded import embedded_server

    jobs = plan_jobs(None, [args.agent], args.split, args.episodes, seed=0)
    load_start = os.getloadavg()
    results: Dict[str, Dict[str, Any]] = {}

    with embedded_server() as url:
        list(local_rows(jobs[:2], ServerSet(url), args.workers))  # warm the zygotes
        started = time.perf_counter()
        baseline_rows = list(local_rows(jobs, ServerSet(url), args.workers))
        results["single process"] = {"wall_s": time.perf_counter() - started, "rows": baseline_rows,
                                     "setup": f"1 server, pool of {os.environ.get('TRACEFIX_SANDBOX_POOL_SIZE') or os.cpu_count()}, {args.workers} sessions"}

    t0 = time.perf_counter()
    ray = init_ray("local", num_cpus=os.cpu_count())
    cluster_s = time.perf_counter() - t0
    for count in (1, 2):
        t0 = time.perf_counter()
        handles = start_actors(ray, count, pool_size=1, workers=args.per_actor, max_steps=None, record_dir=None)
        ray.get([h.where.remote() for h in handles])
        list(play_on(ray, handles, jobs[:2 * count], args.per_actor))  # warm each actor's zygotes
        ready_s = time.perf_counter() - t0
        started = time.perf_counter()
        rows = list(play_on(ray, handles, jobs, args.per_actor))
        wall = time.perf_counter() - started
        stop_actors(ray, handles)
        results[f"Ray, {count} actor{'s' if count > 1 else ''}"] = {
            "wall_s": wall, "rows": rows, "startup_s": ready_s,
            "setup": f"{count} x (server, pool of 1, {args.per_actor} sessions)"}
    ray.shutdown()

    base = results["single process"]
    table = []
    for name, r in results.items():
        r["episodes_per_s"] = len(r["rows"]) / r["wall_s"]
        r["identical"] = _same(r["rows"], base["rows"])
        table.append((name, r))
    if args.json:
        print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "rows"} for k, v in results.items()}
                         | {"episodes": len(jobs), "cluster_start_s": cluster_s}, indent=2))
        return
    print(f"{len(jobs)} episodes ({args.agent} on {args.split}, {args.episodes} per task), {os.cpu_count()} cores; "
          f"load average {load_start[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
          f"local Ray cluster started in {cluster_s:.1f} s\n")
    print("| path | setup | episodes/s | vs single process | rows identical | actors ready in |")
    print("|---|---|---:|---:|:---:|---:|")
    for name, r in table:
        ready = f"{r['startup_s']:.1f} s" if "startup_s" in r else "-"
        print(f"| {name} | {r['setup']} | {r['episodes_per_s']:.2f} | {r['episodes_per_s'] / base['episodes_per_s']:.2f}x | "
              f"{'yes' if r['identical'] else 'NO'} | {ready} |")


if __name__ == "__main__":
    main()

"""Load benchmark: N concurrent WebSocket sessions against one TraceFix server on 127.0.0.1.

Every session plays scripted episodes: reset, VIEW_CODE, one REPLACE_LINES (the task's reference
fix), RUN_TESTS, SUBMIT, and checks that the submission succeeds.  For each N (default 1, 16, 64,
256) the same work per session, and for the whole run one server in its own process (so its memory,
file descriptors and threads are read from /proc apart from the client's):

* episodes/s, and p50/p99 latency of each action type, as ratios to N = 1 measured in the same run;
* errors: exceptions, refused steps (a busy sandbox), runs that ended early (timeouts), failed
  submissions;
* the server's RSS, open fds and threads before the sessions open, while they are open, and after
  they closed; the RSS each open session costs;
* the sandbox: test runs/s, the mean queue read from the server's ``/capacity`` during the run, and
  the RUN_TESTS latency that queue predicts (Little's law) next to the measured one; a probe
  session's VIEW_CODE latency (an action that needs no sandbox) while the pool is saturated; CPU
  per episode in the server, the sandbox and this client;
* edits while slow runs hold every test worker, with the compile check on its own pool (the
  default) and on the test pool (``TRACEFIX_SYNTAX_POOL_SIZE=0``), each on a server of its own.

    uv run python bench/load.py [--sessions 1,16,64,256] [--episodes 2] [--json] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.serverproc import ServerProcess  # noqa: E402

ACTIONS = ("reset", "VIEW_CODE", "REPLACE_LINES", "RUN_TESTS", "SUBMIT")
TEST_RUNS_PER_EPISODE = 3
"""Runs on the test pool per episode: RUN_TESTS, and SUBMIT's two (visible tests, hidden tests).
The edit's compile check runs on a pool of its own (tracefix.tasks.syntax_lane)."""


@dataclass
class Script:
    """One task's episode: the edit that fixes it."""

    task_id: str
    start: int
    end: int
    block: str


def scripts(split: str = "curated") -> List[Script]:
    """The tasks of ``split`` whose reference fix is a single REPLACE_LINES."""
    from tracefix.agents.oracle import fix_actions
    from tracefix.tasks.registry import default_registry

    out = []
    for task in default_registry().tasks(split):
        actions = fix_actions(task.buggy_code, task.reference_code)
        if len(actions) == 1:
            a = actions[0]
            out.append(Script(task.id, a.start_line, a.end_line, a.new_code_block))  # type: ignore[arg-type]
    return out


@dataclass
class Tally:
    latencies: Dict[str, List[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    episodes: int = 0
    errors: List[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors.append(what[:300])


async def play(client: Any, script: Script, seed: int, tally: Tally) -> None:
    """One scripted episode; every deviation from a clean, successful episode is an error."""
    from tracefix.models import ActionType, CodeAction

    async def timed(name: str, call: Any) -> Any:
        started = time.perf_counter()
        result = await call
        tally.latencies[name].append(time.perf_counter() - started)
        observation = result.observation
        if observation.error:
            tally.error(f"{name}: {observation.error}")
        return observation

    await timed("reset", client.reset(task_id=script.task_id, seed=seed))
    await timed("VIEW_CODE", client.step(CodeAction(action_type=ActionType.VIEW_CODE)))
    await timed("REPLACE_LINES", client.step(CodeAction(
        action_type=ActionType.REPLACE_LINES, start_line=script.start, end_line=script.end, new_code_block=script.block)))
    run = await timed("RUN_TESTS", client.step(CodeAction(action_type=ActionType.RUN_TESTS)))
    if "ended early" in (run.message or ""):
        tally.error(f"RUN_TESTS: {run.message}")
    final = await timed("SUBMIT", client.step(CodeAction(action_type=ActionType.SUBMIT)))
    if not (final.done and final.success):
        tally.error(f"SUBMIT of the reference fix of {script.task_id} did not succeed: {final.message}")
    tally.episodes += 1


@dataclass
class Phases:
    """What every session of one level waits for, and reports."""

    n: int
    go: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    all_open: asyncio.Event = field(default_factory=asyncio.Event)
    all_played: asyncio.Event = field(default_factory=asyncio.Event)
    opened: int = 0
    played: int = 0

    def mark_open(self) -> None:
        self.opened += 1
        if self.opened == self.n:
            self.all_open.set()

    def mark_played(self) -> None:
        self.played += 1
        if self.played == self.n:
            self.all_played.set()


async def session(url: str, index: int, episodes: int, work: List[Script], tally: Tally, phases: Phases) -> None:
    """Open a session, wait until all are open, play ``episodes``, stay open until released."""
    from tracefix.client import TraceFixEnv

    client = TraceFixEnv(base_url=url, message_timeout_s=600.0)
    opened = played = False
    try:
        await client.connect()
        phases.mark_open()
        opened = True
        await phases.go.wait()
        for e in range(episodes):
            script = work[(index + e) % len(work)]
            try:
                await play(client, script, seed=index * 1000 + e, tally=tally)
            except Exception as exc:  # noqa: BLE001 - counted
                tally.error(f"{type(exc).__name__}: {exc}")
        phases.mark_played()
        played = True
        await phases.release.wait()
    except Exception as exc:  # noqa: BLE001 - counted
        tally.error(f"session {index}: {type(exc).__name__}: {exc}")
    finally:
        if not opened:
            phases.mark_open()
        if not played:
            phases.mark_played()
        try:
            await client.close()
        except Exception:  # noqa: BLE001
            pass


async def probe(url: str, script: Script, stop: asyncio.Event, samples: List[float], period_s: float = 0.05) -> None:
    """A session of its own sending VIEW_CODE every ``period_s`` while the level runs: how fast an
    action that needs no sandbox is answered while the pool is saturated."""
    from tracefix.client import TraceFixEnv
    from tracefix.models import ActionType, CodeAction

    view = CodeAction(action_type=ActionType.VIEW_CODE)
    async with TraceFixEnv(base_url=url, message_timeout_s=600.0) as client:
        await client.reset(task_id=script.task_id, seed=0, max_steps=500)
        steps = 0
        while not stop.is_set():
            if steps >= 490:
                await client.reset(task_id=script.task_id, seed=0, max_steps=500)
                steps = 0
            started = time.perf_counter()
            await client.step(view)
            samples.append(time.perf_counter() - started)
            steps += 1
            try:
                await asyncio.wait_for(stop.wait(), period_s)
            except asyncio.TimeoutError:
                pass


def client_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _pct(values: List[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


async def _settle(server: ServerProcess, sessions: int, timeout_s: float = 30.0) -> Dict[str, Any]:
    """Wait until the server reports ``sessions`` open and every sandbox worker idle."""
    deadline = time.monotonic() + timeout_s
    while True:
        cap = await asyncio.to_thread(server.capacity)
        sandbox = cap["sandbox"]
        if cap["sessions"]["open"] == sessions and sandbox["idle"] == sandbox["size"] and not sandbox["waiting"]:
            return cap
        if time.monotonic() > deadline:
            return cap
        await asyncio.sleep(0.2)


async def level(server: ServerProcess, n: int, episodes: int, work: List[Script]) -> Dict[str, Any]:
    """Run N sessions once; return the measurements."""
    tally = Tally()
    await _settle(server, 0)
    before = server.sample()
    client_before = client_cpu()
    phases = Phases(n)
    started_open = time.perf_counter()
    tasks = [asyncio.create_task(session(server.url, i, episodes, work, tally, phases)) for i in range(n)]
    await phases.all_open.wait()
    open_s = time.perf_counter() - started_open
    probe_stop, probe_samples = asyncio.Event(), []
    prober = asyncio.create_task(probe(server.url, work[0], probe_stop, probe_samples))
    waiting: List[int] = []
    syntax_waiting: List[int] = []
    sampler = asyncio.create_task(sample_queue(server, probe_stop, waiting, syntax_waiting))
    started = time.perf_counter()
    phases.go.set()
    await phases.all_played.wait()
    wall = time.perf_counter() - started
    probe_stop.set()
    await prober
    await sampler
    played = server.sample()
    cap_open = await _settle(server, n)
    during = server.sample()
    phases.release.set()
    await asyncio.gather(*tasks)
    cap_after = await _settle(server, 0)
    await asyncio.sleep(0.5)
    after = server.sample()
    return {
        "sessions": n,
        "episodes": tally.episodes,
        "wall_s": wall,
        "open_s": open_s,
        "episodes_per_s": tally.episodes / wall if wall > 0 else 0.0,
        "latency_ms": {a: {"p50": _pct(v, 0.5), "p99": _pct(v, 0.99), "mean": statistics.fmean(v) * 1000 if v else float("nan")}
                       for a, v in tally.latencies.items()},
        "queue": {"mean_waiting": statistics.fmean(waiting) if waiting else 0.0, "max_waiting": max(waiting, default=0),
                  "syntax_mean_waiting": statistics.fmean(syntax_waiting) if syntax_waiting else 0.0, "samples": len(waiting)},
        "probe_view_ms": {"p50": _pct(probe_samples, 0.5), "p99": _pct(probe_samples, 0.99), "n": len(probe_samples)},
        "errors": len(tally.errors),
        "error_examples": tally.errors[:5],
        "server": {"before": before.as_dict(), "open": during.as_dict(), "after": after.as_dict()},
        "rss_mb_per_open_session": (during.rss_mb - before.rss_mb) / n,
        "cpu_ms_per_episode": {
            "server": 1000 * (played.cpu_s - before.cpu_s) / max(1, tally.episodes),
            "sandbox": 1000 * (played.tree_cpu_s - before.tree_cpu_s) / max(1, tally.episodes),
            "client": 1000 * (client_cpu() - client_before) / max(1, tally.episodes),
        },
        "capacity_open": cap_open,
        "capacity_after": cap_after,
        "loadavg": os.getloadavg(),
    }


def queueing_check(row: Dict[str, Any], baseline: Dict[str, Any]) -> Dict[str, float]:
    """RUN_TESTS latency predicted from the test pool's queue, next to the measured mean.

    The server's ``/capacity`` is sampled while the level runs: the mean number of runs waiting for
    a worker (Q) and the pool's throughput (X, test runs/s) give the mean wait in the queue by
    Little's law, W = Q / X.  When the server adds nothing but that queue, a RUN_TESTS takes its
    latency at N = 1 plus W.
    """
    runs_per_s = row["episodes_per_s"] * TEST_RUNS_PER_EPISODE
    wait_ms = 1000 * row["queue"]["mean_waiting"] / runs_per_s if runs_per_s else float("nan")
    base_ms = baseline["latency_ms"]["RUN_TESTS"]["mean"]
    return {"test_runs_per_s": runs_per_s, "mean_waiting": row["queue"]["mean_waiting"], "wait_ms": wait_ms,
            "predicted_ms": base_ms + wait_ms, "measured_ms": row["latency_ms"]["RUN_TESTS"]["mean"]}


async def sample_queue(server: ServerProcess, stop: asyncio.Event, waiting: List[int], syntax_waiting: List[int],
                       period_s: float = 0.2) -> None:
    """Read the server's pool queues every ``period_s`` until ``stop``."""
    while not stop.is_set():
        try:
            cap = await asyncio.to_thread(server.capacity)
            waiting.append(int(cap["sandbox"]["waiting"]))
            syntax_waiting.append(int(cap["syntax_sandbox"]["waiting"]))
        except OSError:
            pass
        try:
            await asyncio.wait_for(stop.wait(), period_s)
        except asyncio.TimeoutError:
            pass


def markdown(rows: List[Dict[str, Any]]) -> str:
    base = rows[0]
    lines = []
    lines.append("| sessions | episodes/s | errors | " + " | ".join(f"{a} p50 / p99 ms" for a in ACTIONS)
                 + " | server RSS MB (open) | MB per open session | fds (before / open / after) | threads (open) |")
    lines.append("|---:|---:|---:|" + "---:|" * len(ACTIONS) + "---:|---:|---:|---:|")
    for row in rows:
        lat = row["latency_ms"]
        cells = [str(row["sessions"]),
                 f"{row['episodes_per_s']:.1f} ({row['episodes_per_s'] / base['episodes_per_s']:.2f}x)",
                 str(row["errors"])]
        for a in ACTIONS:
            r50 = lat[a]["p50"] / base["latency_ms"][a]["p50"]
            cells.append(f"{lat[a]['p50']:.1f} / {lat[a]['p99']:.1f} ({r50:.1f}x)")
        s = row["server"]
        cells.append(f"{s['open']['rss_mb']:.0f} ({s['open']['rss_mb'] / base['server']['open']['rss_mb']:.2f}x)")
        cells.append(f"{row['rss_mb_per_open_session']:.2f}")
        cells.append(f"{s['before']['fds']} / {s['open']['fds']} / {s['after']['fds']}")
        cells.append(str(s["open"]["threads"]))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| sessions | test runs/s | runs waiting (mean) | RUN_TESTS mean ms: measured | N = 1 + queue wait "
                 "| probe VIEW_CODE p50 / p99 ms | CPU ms per episode: server / sandbox / load client |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        q = queueing_check(row, base)
        cpu = row["cpu_ms_per_episode"]
        cpu_text = (f"{cpu['server']:.1f} / {cpu['sandbox']:.1f} / {cpu['client']:.1f}" if row["episodes"] >= 10
                    else "too few episodes to time")  # CPU times come in 10 ms ticks
        lines.append(f"| {row['sessions']} | {q['test_runs_per_s']:.0f} | {q['mean_waiting']:.1f} | {q['measured_ms']:.1f} | "
                     f"{q['predicted_ms']:.1f} | {row['probe_view_ms']['p50']:.1f} / {row['probe_view_ms']['p99']:.1f} | "
                     f"{cpu_text} |")
    return "\n".join(lines) + "\n"


SLEEPER = "import time\ntime.sleep(60)\n"
"""A candidate program that holds a test worker for the whole run timeout without using the CPU."""


async def edits_while_held(work: List[Script], lane: bool, seconds: float, server_log: Optional[str]) -> Dict[str, Any]:
    """Edit latency while every test worker is held by slow runs, with or without the compile lane.

    Holder sessions (twice the test pool) run a program that sleeps until the run timeout, over and
    over, so a worker is never free; one session edits every 50 ms and times each edit.
    """
    from tracefix.client import TraceFixEnv
    from tracefix.models import ActionType, CodeAction

    env = {} if lane else {"TRACEFIX_SYNTAX_POOL_SIZE": "0"}
    run_tests = CodeAction(action_type=ActionType.RUN_TESTS)
    samples: List[float] = []
    stop = asyncio.Event()
    with ServerProcess(env=env, log_path=server_log) as server:
        pool = (await asyncio.to_thread(server.capacity))["sandbox"]["size"]

        async def holder() -> None:
            async with TraceFixEnv(base_url=server.url, message_timeout_s=600.0) as client:
                obs = (await client.reset(task_id=work[0].task_id, seed=0, max_steps=500)).observation
                lines = len(obs.code_view.splitlines()) if obs.code_view else 1
                await client.step(CodeAction(action_type=ActionType.REPLACE_LINES, start_line=1, end_line=max(1, lines),
                                             new_code_block=SLEEPER))
                while not stop.is_set():
                    await client.step(run_tests)

        async def editor() -> None:
            script = work[0]
            async with TraceFixEnv(base_url=server.url, message_timeout_s=600.0) as client:
                await client.reset(task_id=script.task_id, seed=0, max_steps=500)
                await asyncio.sleep(1.0)  # the holders hold every worker by now
                deadline = time.monotonic() + seconds
                steps = 0
                while time.monotonic() < deadline:
                    if steps >= 480:
                        await client.reset(task_id=script.task_id, seed=0, max_steps=500)
                        steps = 0
                    edit = CodeAction(action_type=ActionType.REPLACE_LINES, start_line=script.start, end_line=script.end,
                                      new_code_block=script.block + ("\n" if steps % 2 else ""))
                    started = time.perf_counter()
                    await client.step(edit)
                    samples.append(time.perf_counter() - started)
                    steps += 1
                    await asyncio.sleep(0.05)
            stop.set()

        holders = [asyncio.create_task(holder()) for _ in range(2 * pool)]
        await editor()
        await asyncio.gather(*holders, return_exceptions=True)
    return {"lane": lane, "edits": len(samples), "p50_ms": _pct(samples, 0.5), "p99_ms": _pct(samples, 0.99)}


def held_markdown(rows: List[Dict[str, Any]]) -> str:
    shared = next(r for r in rows if not r["lane"])
    lines = ["| compile check of an edit | edits timed | p50 ms | p99 ms | p50: shared / this |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        name = "own pool (default)" if r["lane"] else "shared with test runs (TRACEFIX_SYNTAX_POOL_SIZE=0)"
        lines.append(f"| {name} | {r['edits']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {shared['p50_ms'] / r['p50_ms']:.0f}x |")
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> Dict[str, Any]:
    sizes = [int(x) for x in args.sessions.split(",")]
    work = scripts(args.split)
    if not work:
        raise SystemExit(f"no task of split {args.split!r} has a one-edit reference fix")
    env = {"TRACEFIX_MAX_CONCURRENT_ENVS": str(max(sizes) + 16)}
    with ServerProcess(env=env, log_path=args.server_log) as server:
        # Warm-up (zygotes start, caches fill): not measured.
        await level(server, 1, 2, work)
        rows = []
        for n in sizes:
            rows.append(await level(server, n, args.episodes, work))
            print(f"N={n}: {rows[-1]['episodes_per_s']:.1f} episodes/s, {rows[-1]['errors']} errors, "
                  f"load {os.getloadavg()[0]:.2f}", file=sys.stderr)
        pool = (await asyncio.to_thread(server.capacity))["sandbox"]
    held = []
    if args.held_seconds > 0:
        for lane in (False, True):
            held.append(await edits_while_held(work, lane, args.held_seconds, args.server_log))
    return {"rows": rows, "held": held, "pool": pool, "tasks": [w.task_id for w in work], "episodes_per_session": args.episodes,
            "cpus": os.cpu_count(), "rlimit_nofile": _nofile()}


def _nofile() -> List[int]:
    import resource

    return list(resource.getrlimit(resource.RLIMIT_NOFILE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", default="1,16,64,256", help="comma-separated session counts (the first is the baseline)")
    parser.add_argument("--episodes", type=int, default=2, help="episodes per session at every level")
    parser.add_argument("--split", default="curated")
    parser.add_argument("--held-seconds", type=float, default=10.0,
                        help="how long to time edits while slow runs hold every test worker (0: skip)")
    parser.add_argument("--server-log", default=None, help="append the server's log to this file")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the tables to this file")
    args = parser.parse_args()
    load_start = os.getloadavg()
    result = asyncio.run(run(args))
    result["loadavg_start"] = load_start
    result["loadavg_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    table = markdown(result["rows"])
    head = (f"{result['cpus']} cores, sandbox tier {result['pool']['tier']}, pool of {result['pool']['size']} workers, "
            f"{result['episodes_per_session']} episodes per session; load average {load_start[0]:.2f} at the start, "
            f"{result['loadavg_end'][0]:.2f} at the end\n\n")
    if result["held"]:
        table += "\nEdits while slow runs hold every test worker:\n\n" + held_markdown(result["held"])
    print(head + table)
    for row in result["rows"]:
        for example in row["error_examples"]:
            print(f"error at N={row['sessions']}: {example}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(head + table, encoding="utf-8")


if __name__ == "__main__":
    main()

"""Soak: a server under mixed, hostile and faulty traffic for minutes, checked for leaks and losses.

One server in its own process on 127.0.0.1 (its own, empty ``TMPDIR``), and ``--slots`` clients
that open sessions over and over, each session doing one of:

* **honest**: one to three episodes applying a task's reference fix (reset, REPLACE_LINES,
  RUN_TESTS, SUBMIT), each of which must succeed;
* **hostile**: an episode whose candidate program is one of the adversarial suite's programs
  (``tests/sandbox/adversarial_cases.py``: infinite loops, fork and memory bombs, floods, forged
  result frames, ...), run and submitted, which must end (done, never successful);
* **vanish**: starts a run that takes seconds, then drops its TCP connection mid-step;
* **idle**: resets, then says nothing until the server closes the session (``--idle-timeout``);
* **abandon**: edits, then closes without submitting.

Every ``--fault-every`` seconds a fault is injected on a session of its own, in turn: **kill -9
the zygote** serving its run (found by a marker file in the run's private /tmp), **kill -9 its
bwrap**, **fill its /tmp**.  The run must report the failure, the next runs must be served again,
and no other session may notice.

Every ``--sample-every`` seconds the server's RSS, open fds, threads and child processes are read
from /proc; the report gives their slopes per minute (flat: no leak), the server's ERROR lines
(must be 0), lost episodes (an episode that was started and neither finished nor deliberately
dropped: must be 0), and, once every client is gone, whether the server is back where it started
(no session, no busy worker, no extra process or fd, nothing left in its TMPDIR).

    uv run python bench/soak.py --minutes 10 [--slots 12] [--json] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import Script, scripts  # noqa: E402
from bench.serverproc import ServerProcess, descendants, slope_per_minute  # noqa: E402

BEHAVIOURS = ("honest", "hostile", "vanish", "idle", "abandon")
FAULTS = ("kill_zygote", "kill_bwrap", "fill_tmp")
SEND_AGAIN = "send it again"
"""How the environment says a step was refused without being counted (a busy sandbox)."""
SERVER_ERROR = re.compile(r"\bERROR\b|Traceback|Exception in ASGI")


@dataclass
class SoakConfig:
    seconds: float = 600.0
    slots: int = 12
    """Clients running at the same time, each opening one session after another."""
    weights: Dict[str, float] = field(default_factory=lambda: {
        "honest": 0.55, "hostile": 0.25, "vanish": 0.08, "idle": 0.04, "abandon": 0.08})
    idle_timeout_s: float = 5.0
    fault_every_s: float = 30.0
    sample_every_s: float = 5.0
    seed: int = 0
    hostile_cases: Optional[List[str]] = None
    """Names of the adversarial cases to play (default: all of them)."""
    server_log: Optional[str] = None
    workdir: Optional[str] = None
    """Where the server's TMPDIR and log go (default: a new temporary directory)."""
    min_faults: int = 0
    """Keep going past ``seconds`` until this many faults were injected (at most 2 minutes more)."""


@dataclass
class Tally:
    sessions: Dict[str, int] = field(default_factory=lambda: {b: 0 for b in BEHAVIOURS})
    episodes_started: int = 0
    episodes_finished: int = 0
    episodes_dropped: int = 0
    """Started and deliberately not finished (vanish, idle, abandon)."""
    lost: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    busy_retries: int = 0
    reaped: int = 0
    hostile_seen: Dict[str, int] = field(default_factory=dict)
    faults: List[Dict[str, Any]] = field(default_factory=list)


def hostile_program(case: Any) -> str:
    """An adversarial case as one candidate module: its code, then its steps at module level."""
    lines = [case.code.rstrip("\n")]
    for kind, source in case.steps:
        lines.append(source if kind == "exec" else f"_ = ({source})")
    return "\n".join(lines) + "\n"


def marker_program(token: str, seconds: float) -> str:
    """Leaves a file the fault injector can find from outside, then keeps the run busy."""
    return f"import time\nopen('/tmp/fault-{token}', 'w').close()\ntime.sleep({seconds})\n"


FILL_TMP = (
    "import os\n"
    "def fill():\n"
    "    n = 0\n"
    "    try:\n"
    "        while True:\n"
    "            with open('/tmp/fill-%d' % n, 'wb') as f:\n"
    "                f.write(b'x' * (1 << 20))\n"
    "            n += 1\n"
    "    except OSError as e:\n"
    "        return '%s after %d files' % (e.strerror, n)\n"
    "print('FILL:', fill())\n"
)
LIST_TMP = "import os\nprint('TMP:', sorted(os.listdir('/tmp')))\n"


class Soak:
    def __init__(self, config: SoakConfig) -> None:
        from tests.sandbox.adversarial_cases import CASES

        self.config = config
        self.rng = random.Random(config.seed)
        self.work: List[Script] = scripts()
        names = set(config.hostile_cases or [c.name for c in CASES])
        self.cases = [c for c in CASES if c.name in names]
        self.tally = Tally()
        self.samples: List[Dict[str, float]] = []
        self.stop = asyncio.Event()
        self.tmpdir = config.workdir or tempfile.mkdtemp(prefix="tracefix-soak-")
        self.server_tmp = os.path.join(self.tmpdir, "server-tmp")
        os.makedirs(self.server_tmp)
        self.log_path = config.server_log or os.path.join(self.tmpdir, "server.log")
        self.server = ServerProcess(env={
            "TRACEFIX_SESSION_IDLE_TIMEOUT_S": str(config.idle_timeout_s),
            "TMPDIR": self.server_tmp,
        }, log_path=self.log_path)

    # -- client helpers -------------------------------------------------------------------------------
    def _client(self) -> Any:
        from tracefix.client import TraceFixEnv

        return TraceFixEnv(base_url=self.server.url, message_timeout_s=300.0)

    async def _step(self, client: Any, action: Any) -> Any:
        """One step; a step refused because the sandbox was busy is sent again (it was not counted)."""
        for _ in range(20):
            observation = (await client.step(action)).observation
            if observation.error and SEND_AGAIN in observation.error:
                self.tally.busy_retries += 1
                await asyncio.sleep(1.0)
                continue
            return observation
        raise RuntimeError(f"the sandbox stayed busy for 20 attempts: {observation.error}")

    @staticmethod
    def _replace_all(program: str, total_lines: int) -> Any:
        from tracefix.models import ActionType, CodeAction

        return CodeAction(action_type=ActionType.REPLACE_LINES, start_line=1, end_line=max(1, total_lines),
                          new_code_block=program)

    def _finished(self, obs: Any, where: str) -> bool:
        """Count an episode that its SUBMIT ended; one that did not end is lost."""
        if not obs.done:
            self.tally.lost.append(f"{where}: SUBMIT did not end the episode: {obs.message} {obs.error}")
            return False
        self.tally.episodes_finished += 1
        return True

    async def _honest_episode(self, client: Any, script: Script, seed: int, where: str) -> None:
        from tracefix.models import ActionType, CodeAction

        self.tally.episodes_started += 1
        try:
            await client.reset(task_id=script.task_id, seed=seed)
            obs = await self._step(client, CodeAction(action_type=ActionType.REPLACE_LINES, start_line=script.start,
                                                      end_line=script.end, new_code_block=script.block))
            if obs.error:
                self.tally.errors.append(f"{where}: edit: {obs.error}")
            obs = await self._step(client, CodeAction(action_type=ActionType.RUN_TESTS))
            if obs.error or obs.tests_passed != obs.tests_total:
                self.tally.errors.append(f"{where}: RUN_TESTS of the fix: {obs.tests_passed}/{obs.tests_total} {obs.message} {obs.error or ''}")
            obs = await self._step(client, CodeAction(action_type=ActionType.SUBMIT))
        except Exception as exc:  # noqa: BLE001 - a lost episode
            self.tally.lost.append(f"{where}: {type(exc).__name__}: {exc}")
            return
        if self._finished(obs, where) and not obs.success:
            self.tally.errors.append(f"{where}: the reference fix of {script.task_id} did not succeed: {obs.message}")

    # -- behaviours -----------------------------------------------------------------------------------
    async def honest(self, n: int) -> None:
        async with self._client() as client:
            for e in range(self.rng.randint(1, 3)):
                await self._honest_episode(client, self.rng.choice(self.work), seed=n * 10 + e, where=f"honest #{n}")

    async def hostile(self, n: int) -> None:
        from tracefix.models import ActionType, CodeAction

        case = self.rng.choice(self.cases)
        self.tally.hostile_seen[case.name] = self.tally.hostile_seen.get(case.name, 0) + 1
        where = f"hostile #{n} ({case.name})"
        async with self._client() as client:
            self.tally.episodes_started += 1
            try:
                obs = (await client.reset(task_id=self.rng.choice(self.work).task_id, seed=n)).observation
                obs = await self._step(client, self._replace_all(hostile_program(case), obs.total_lines))
                if obs.error:
                    self.tally.errors.append(f"{where}: edit: {obs.error}")
                await self._step(client, CodeAction(action_type=ActionType.RUN_TESTS))
                obs = await self._step(client, CodeAction(action_type=ActionType.SUBMIT))
            except Exception as exc:  # noqa: BLE001 - a lost episode
                self.tally.lost.append(f"{where}: {type(exc).__name__}: {exc}")
                return
            if self._finished(obs, where) and obs.success:
                self.tally.errors.append(f"{where}: a hostile program was graded a success")

    async def _raw(self) -> Any:
        import websockets

        return await websockets.connect(self.server.url.replace("http://", "ws://") + "/ws", max_size=None)

    async def vanish(self, n: int) -> None:
        """Reset, make the program slow, start RUN_TESTS and drop the connection mid-step."""
        ws = await self._raw()
        try:
            script = self.rng.choice(self.work)
            await ws.send(json.dumps({"type": "reset", "data": {"task_id": script.task_id, "seed": n}}))
            total = json.loads(await ws.recv())["data"]["observation"]["total_lines"]
            edit = self._replace_all("import time\ntime.sleep(0.4)\n", total).model_dump(exclude_none=True)
            await ws.send(json.dumps({"type": "step", "data": edit}))
            await ws.recv()
            self.tally.episodes_started += 1
            await ws.send(json.dumps({"type": "step", "data": {"action_type": "RUN_TESTS"}}))
            await asyncio.sleep(self.rng.uniform(0.05, 0.5))
        finally:
            ws.transport.abort()  # no close frame, no FIN handshake: the client is just gone
        self.tally.episodes_dropped += 1

    async def idle(self, n: int) -> None:
        """Reset, then stay silent: the server must close the session after its idle timeout."""
        ws = await self._raw()
        try:
            script = self.rng.choice(self.work)
            await ws.send(json.dumps({"type": "reset", "data": {"task_id": script.task_id, "seed": n}}))
            await ws.recv()
            self.tally.episodes_started += 1
            self.tally.episodes_dropped += 1
            try:
                await asyncio.wait_for(ws.wait_closed(), self.config.idle_timeout_s + 30)
            except asyncio.TimeoutError:
                self.tally.errors.append(f"idle #{n}: the server did not close an idle session")
                return
            if ws.close_code == 4000:
                self.tally.reaped += 1
            else:
                self.tally.errors.append(f"idle #{n}: closed with code {ws.close_code}, not 4000 (idle)")
        finally:
            await ws.close()

    async def abandon(self, n: int) -> None:
        from tracefix.models import ActionType, CodeAction

        script = self.rng.choice(self.work)
        async with self._client() as client:
            await client.reset(task_id=script.task_id, seed=n)
            self.tally.episodes_started += 1
            await self._step(client, CodeAction(action_type=ActionType.REPLACE_LINES, start_line=script.start,
                                                end_line=script.end, new_code_block=script.block))
        self.tally.episodes_dropped += 1

    async def slot(self, index: int) -> None:
        names = list(self.config.weights)
        weights = [self.config.weights[b] for b in names]
        n = 0
        while not self.stop.is_set():
            behaviour = self.rng.choices(names, weights)[0]
            self.tally.sessions[behaviour] += 1
            n += 1
            try:
                await getattr(self, behaviour)(index * 100000 + n)
            except Exception as exc:  # noqa: BLE001 - a session that could not even start
                self.tally.errors.append(f"{behaviour} session of slot {index}: {type(exc).__name__}: {exc}")

    # -- faults ---------------------------------------------------------------------------------------
    def _find_run(self, token: str, timeout_s: float = 10.0) -> Optional[int]:
        """The run child whose private /tmp holds the marker (as root, /proc/PID/root shows its tmpfs)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for pid in descendants(self.server.pid):
                if os.path.exists(f"/proc/{pid}/root/tmp/fault-{token}"):
                    return pid
            time.sleep(0.05)
        return None

    @staticmethod
    def _parent(pid: int) -> int:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])

    @staticmethod
    def _name(pid: int) -> str:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()

    async def fault(self, kind: str) -> Dict[str, Any]:
        from tracefix.models import ActionType, CodeAction

        record: Dict[str, Any] = {"kind": kind, "at_s": round(time.monotonic() - self.started, 1)}
        run = CodeAction(action_type=ActionType.RUN_TESTS)
        async with self._client() as client:
            script = self.work[0]
            obs = (await client.reset(task_id=script.task_id, seed=1)).observation
            if kind == "fill_tmp":
                await self._step(client, self._replace_all(FILL_TMP, obs.total_lines))
                obs = await self._step(client, run)
                record["reported"] = "No space left on device" in obs.output
                record["detail"] = (obs.output.strip().splitlines() or [""])[-1][:200]
                obs = await self._step(client, self._replace_all(LIST_TMP, len(FILL_TMP.splitlines())))
                obs = await self._step(client, run)
                record["next_run_tmp_empty"] = "TMP: []" in obs.output
            elif os.geteuid() != 0:
                record["skipped"] = "finding a run from outside its namespaces (/proc/PID/root) needs root"
            else:
                token = uuid.uuid4().hex[:12]
                await self._step(client, self._replace_all(marker_program(token, 3.0), obs.total_lines))
                pending = asyncio.create_task(client.step(run))
                child = await asyncio.to_thread(self._find_run, token)
                target = None
                if child is not None:
                    zygote = self._parent(child)
                    target = zygote if kind == "kill_zygote" else self._parent(zygote)
                    record["killed"] = self._name(target)
                    if kind == "kill_bwrap" and record["killed"] != "bwrap":
                        record["skipped"] = "no bwrap above the zygote (the sandbox runs at the reduced tier)"
                        target = None
                    else:
                        os.kill(target, signal.SIGKILL)
                obs = (await pending).observation
                record["reported"] = target is not None and "ended early" in obs.message and obs.tests_passed == 0
                record["detail"] = obs.message[:200]
                if child is None:
                    record["error"] = "the run was not found"
        # The pool recovers: a fresh session plays an honest episode right after.
        before = len(self.tally.errors) + len(self.tally.lost)
        async with self._client() as client:
            await self._honest_episode(client, script, seed=2, where=f"after fault {kind}")
        record["recovered"] = len(self.tally.errors) + len(self.tally.lost) == before
        return record

    async def faults(self) -> None:
        i = 0
        while True:
            try:
                await asyncio.wait_for(self.stop.wait(), self.config.fault_every_s)
                return
            except asyncio.TimeoutError:
                pass
            kind = FAULTS[i % len(FAULTS)]
            i += 1
            errors_before, lost_before = len(self.tally.errors), len(self.tally.lost)
            try:
                record = await self.fault(kind)
            except Exception as exc:  # noqa: BLE001
                record = {"kind": kind, "error": f"{type(exc).__name__}: {exc}"}
            meanwhile = self.tally.errors[errors_before:] + self.tally.lost[lost_before:]
            record["other_sessions_errors_meanwhile"] = len([e for e in meanwhile if not e.startswith("after fault")])
            self.tally.faults.append(record)

    # -- sampling -------------------------------------------------------------------------------------
    def _sample(self) -> Dict[str, float]:
        s = self.server.sample()
        cap = self.server.capacity()
        return {"t": s.t - self.started, "rss_mb": s.rss_mb, "fds": s.fds, "threads": s.threads,
                "processes": s.processes, "tree_rss_mb": s.tree_rss_mb, "sessions": cap["sessions"]["open"],
                "busy_workers": cap["sandbox"]["size"] - cap["sandbox"]["idle"]}

    async def sampler(self) -> None:
        while not self.stop.is_set():
            self.samples.append(await asyncio.to_thread(self._sample))
            try:
                await asyncio.wait_for(self.stop.wait(), self.config.sample_every_s)
            except asyncio.TimeoutError:
                pass

    async def settle(self, timeout_s: float = 60.0) -> Dict[str, Any]:
        """Wait until no session is open and every worker (of both pools) is free."""
        deadline = time.monotonic() + timeout_s
        while True:
            cap = await asyncio.to_thread(self.server.capacity)
            pools = (cap["sandbox"], cap["syntax_sandbox"])
            if cap["sessions"]["open"] == 0 and all(p["idle"] == p["size"] and not p["waiting"] for p in pools):
                return cap
            if time.monotonic() > deadline:
                return cap
            await asyncio.sleep(0.25)

    # -- the run --------------------------------------------------------------------------------------
    async def run(self) -> Dict[str, Any]:
        self.started = time.monotonic()
        with self.server:
            log_start = os.path.getsize(self.log_path)
            async with self._client() as client:  # warm-up: start the zygotes of both pools
                await self._honest_episode(client, self.work[0], seed=0, where="warm-up")
            self.tally = Tally()
            await self.settle()
            await asyncio.sleep(0.5)
            baseline = await asyncio.to_thread(self._sample)
            self.started = time.monotonic()
            load_start = os.getloadavg()
            tasks = [asyncio.create_task(self.slot(i)) for i in range(self.config.slots)]
            tasks.append(asyncio.create_task(self.faults()))
            tasks.append(asyncio.create_task(self.sampler()))
            await asyncio.sleep(self.config.seconds)
            overtime = time.monotonic() + 120
            while len(self.tally.faults) < self.config.min_faults and time.monotonic() < overtime:
                await asyncio.sleep(0.2)
            self.stop.set()
            await asyncio.gather(*tasks)
            duration = time.monotonic() - self.started
            end_capacity = await self.settle()
            await asyncio.sleep(1.0)
            final = await asyncio.to_thread(self._sample)
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                log.seek(log_start)
                server_errors = [line.rstrip() for line in log if SERVER_ERROR.search(line)]
            leftovers = sorted(os.listdir(self.server_tmp))
        return self.report(baseline, final, end_capacity, server_errors, leftovers, duration, load_start)

    def report(self, baseline: Dict[str, float], final: Dict[str, float], end_capacity: Dict[str, Any],
               server_errors: List[str], leftovers: List[str], duration: float, load_start: Any) -> Dict[str, Any]:
        skip = min(60.0, 0.2 * duration)  # the first minute (a fifth of a short run) fills caches
        steady = [s for s in self.samples if s["t"] >= skip] or self.samples
        keys = ("rss_mb", "fds", "threads", "processes", "tree_rss_mb")
        slopes = {key: slope_per_minute([(s["t"], s[key]) for s in steady]) for key in keys}
        late = [s for s in steady if s["t"] >= steady[0]["t"] + (steady[-1]["t"] - steady[0]["t"]) / 2] if steady else []
        late_slopes = {key: slope_per_minute([(s["t"], s[key]) for s in late]) for key in keys}
        t = self.tally
        return {
            "duration_s": round(duration, 1),
            "slots": self.config.slots,
            "sessions": t.sessions,
            "episodes": {"started": t.episodes_started, "finished": t.episodes_finished,
                         "dropped_on_purpose": t.episodes_dropped, "lost": len(t.lost)},
            "lost_examples": t.lost[:5],
            "errors": len(t.errors),
            "error_examples": t.errors[:5],
            "server_errors": len(server_errors),
            "server_error_examples": server_errors[:5],
            "busy_retries": t.busy_retries,
            "idle_sessions_reaped": t.reaped,
            "hostile_cases_played": len(t.hostile_seen),
            "faults": t.faults,
            "slopes_per_minute": slopes,
            "slopes_per_minute_second_half": late_slopes,
            "series": [{k: round(v, 2) for k, v in s.items()} for s in self.samples],
            "means": {key: statistics.fmean(s[key] for s in steady) for key in ("rss_mb", "fds", "threads", "processes", "sessions")}
            if steady else {},
            "samples": len(self.samples),
            "baseline": baseline,
            "final": final,
            "end_capacity": end_capacity,
            "server_tmp_leftovers": leftovers,
            "server_log": self.log_path,
            "loadavg": {"start": load_start, "end": os.getloadavg()},
        }


def run_soak(config: SoakConfig) -> Dict[str, Any]:
    return asyncio.run(Soak(config).run())


def markdown(r: Dict[str, Any]) -> str:
    ep = r["episodes"]
    s = r["slopes_per_minute"]
    b, f = r["baseline"], r["final"]
    injected = [x for x in r["faults"] if not x.get("skipped")]
    kinds = {k: sum(1 for x in injected if x["kind"] == k) for k in FAULTS}
    faults = ", ".join(f"{n} {k}" for k, n in kinds.items() if n) or "none"
    if injected:
        faults += (f"; reported {sum(1 for x in injected if x.get('reported'))}, "
                   f"recovered {sum(1 for x in injected if x.get('recovered'))}, errors in other sessions meanwhile "
                   f"{sum(x.get('other_sessions_errors_meanwhile', 0) for x in injected)}")
    lines = [
        f"{r['duration_s'] / 60:.1f} min, {r['slots']} clients; sessions: "
        + ", ".join(f"{k} {v}" for k, v in r["sessions"].items())
        + f"; load average {r['loadavg']['start'][0]:.2f} at the start, {r['loadavg']['end'][0]:.2f} at the end",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| episodes started / finished / dropped on purpose / **lost** | {ep['started']} / {ep['finished']} / {ep['dropped_on_purpose']} / **{ep['lost']}** |",
        f"| client-side errors (wrong results, refused edits, ...) | {r['errors']} |",
        f"| server log ERROR lines | {r['server_errors']} |",
        f"| steps refused by a busy sandbox and sent again | {r['busy_retries']} |",
        f"| idle sessions closed by the server | {r['idle_sessions_reaped']} |",
        f"| adversarial programs played | {r['hostile_cases_played']} |",
        f"| faults injected | {len(injected)} ({faults}) |",
        f"| slope of server RSS (whole run / second half) | {s['rss_mb']:+.2f} / {r['slopes_per_minute_second_half']['rss_mb']:+.2f} MB/min |",
        f"| slope of server open fds | {s['fds']:+.2f} /min |",
        f"| slope of server threads | {s['threads']:+.2f} /min |",
        f"| slope of sandbox processes | {s['processes']:+.2f} /min |",
        f"| slope of sandbox RSS, runs in flight included | {s['tree_rss_mb']:+.2f} MB/min |",
        f"| at rest after the soak vs before: server RSS MB, fds, threads; sandbox processes, RSS MB | "
        f"{b['rss_mb']:.0f} -> {f['rss_mb']:.0f}, {b['fds']:.0f} -> {f['fds']:.0f}, {b['threads']:.0f} -> {f['threads']:.0f}; "
        f"{b['processes']:.0f} -> {f['processes']:.0f}, {b['tree_rss_mb']:.0f} -> {f['tree_rss_mb']:.0f} |",
        f"| files left in the server's TMPDIR | {len(r['server_tmp_leftovers'])} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--slots", type=int, default=12, help="clients at the same time")
    parser.add_argument("--idle-timeout", type=float, default=5.0, help="the server's idle-session timeout (s)")
    parser.add_argument("--fault-every", type=float, default=30.0, help="seconds between injected faults")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--server-log", default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    config = SoakConfig(seconds=args.minutes * 60, slots=args.slots, idle_timeout_s=args.idle_timeout,
                        fault_every_s=args.fault_every, seed=args.seed, server_log=args.server_log)
    result = run_soak(config)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    text = markdown(result)
    print(text)
    for key in ("lost_examples", "error_examples", "server_error_examples"):
        for example in result[key]:
            print(f"{key[:-9]}: {example}")
    for fault in result["faults"]:
        print("fault:", json.dumps(fault))
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

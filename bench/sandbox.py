"""Sandbox latency/throughput benchmark (a script, not a test).

    uv run python bench/sandbox.py [--runs N] [--json]

Runs the same 5-test task (5 tests of one step each on a small function) through:

  (a) fresh    a new ``python -I -S`` per run, running the harness (what a naive sandbox pays);
  (b) fork     the harness in a child forked from this warm process, no isolation at all (baseline);
  (c) zygote   ``tracefix.sandbox.Sandbox`` at each tier this host offers (full / reduced / none).

with 1, 2 and 2 x cpu_count parallel callers, and prints p50/p99 latency and runs/s, with ratios
to (b), as a markdown table (or JSON), plus the RSS of this process and of the zygotes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import select
import statistics
import subprocess
import threading
import time
from typing import Callable, Dict, List

from tracefix.sandbox import Program, RunStatus, Sandbox, SandboxConfig, StepSpec, TestSpec, capabilities
from tracefix.sandbox import harness as harness_mod
from tracefix.sandbox.bwrap import python_executable
from tracefix.sandbox.protocol import FrameReader

CODE = '''def gcd(a, b):
    """Greatest common divisor."""
    while b:
        a, b = b, a % b
    return a
'''
PROGRAM = Program(
    code=CODE,
    tests=tuple(TestSpec("t%d" % i, (StepSpec("eval", "gcd(%d, %d)" % (7 * i + 14, 21)),)) for i in range(5)),
    timeout_s=5.0,
)
REQUEST = {
    "code": PROGRAM.code,
    "setup_code": "",
    "tests": [[[s.kind, s.source] for s in t.steps] for t in PROGRAM.tests],
    "max_result_bytes": 2 * 1024 * 1024,
}
EXPECTED = [__import__("math").gcd(7 * i + 14, 21) for i in range(5)]
HARNESS_PATH = harness_mod.__file__
FRESH_RUNNER = r"""
import sys, json, types
m = types.ModuleType("h"); src = open(sys.argv[1]).read()
exec(compile(src, "harness", "exec"), m.__dict__)
import os
req = json.loads(sys.stdin.read())
os._exit(m.run(req, int(sys.argv[2])))
"""


def _drain(fds: List[int]) -> Dict[int, bytes]:
    out = {fd: bytearray() for fd in fds}
    open_fds = set(fds)
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    while open_fds:
        for fd, _ in poller.poll():
            data = os.read(fd, 65536)
            if data:
                out[fd] += data
            else:
                poller.unregister(fd)
                open_fds.discard(fd)
    return {k: bytes(v) for k, v in out.items()}


def _values(raw: bytes) -> List[object]:
    r = FrameReader(1 << 24, 1 << 26)
    r.feed(raw)
    return [f.get("v") for f in r.frames if f.get("t") == "step"]


def run_fresh() -> List[object]:
    res_r, res_w = os.pipe()
    payload = json.dumps(REQUEST).encode()
    proc = subprocess.Popen([python_executable(), "-I", "-S", "-c", FRESH_RUNNER, HARNESS_PATH, str(res_w)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            pass_fds=(res_w,), env={})
    os.close(res_w)
    proc.stdin.write(payload)
    proc.stdin.close()
    raw = _drain([res_r])[res_r]
    os.close(res_r)
    proc.wait()
    return _values(raw)


def run_fork() -> List[object]:
    res_r, res_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            code = harness_mod.run(REQUEST, res_w)
        finally:
            os._exit(code)
    os.close(res_w)
    os.close(out_w)
    got = _drain([res_r, out_r])
    os.close(res_r)
    os.close(out_r)
    os.waitpid(pid, 0)
    return _values(got[res_r])


def measure(fn: Callable[[], List[object]], runs: int, callers: int) -> Dict[str, float]:
    for _ in range(min(5, runs)):
        assert fn() == EXPECTED
    lat: List[float] = []
    lock = threading.Lock()
    per = max(1, runs // callers)

    def worker() -> None:
        mine = []
        for _ in range(per):
            t = time.perf_counter()
            v = fn()
            mine.append(time.perf_counter() - t)
            if v != EXPECTED:
                raise AssertionError("wrong result: %r" % (v,))
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(callers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {"p50_ms": statistics.median(lat) * 1e3,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3,
            "runs_per_s": len(lat) / wall, "runs": len(lat)}


def sandbox_fn(sb: Sandbox) -> Callable[[], List[object]]:
    def fn() -> List[object]:
        ex = sb.execute(PROGRAM)
        if ex.status != RunStatus.OK:
            raise AssertionError("%s: %s" % (ex.status, ex.detail))
        return [t.steps[0].value for t in ex.tests]
    return fn


def rss_of(pid: int) -> int:
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=400, help="runs per configuration (default 400)")
    ap.add_argument("--fresh-runs", type=int, default=60, help="runs for the slow fresh-interpreter mode")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    args = ap.parse_args()

    for m in ("math", "collections", "itertools", "functools", "heapq", "bisect", "re", "string",
              "dataclasses", "typing", "fractions", "datetime", "json", "enum", "copy"):
        __import__(m)
    gc.collect()
    gc.freeze()
    ncpu = os.cpu_count() or 2
    caller_counts = sorted({1, 2, ncpu * 2})
    caps = capabilities()
    tiers = [t for t in ("full", "reduced", "none") if caps["tiers"][t]["available"]]

    results: List[Dict[str, object]] = []
    for c in caller_counts:
        results.append(dict(mode="(a) fresh", callers=c, **measure(run_fresh, args.fresh_runs, c)))
        results.append(dict(mode="(b) fork", callers=c, **measure(run_fork, args.runs, c)))
    memory: Dict[str, int] = {}
    for tier in tiers:
        with Sandbox(SandboxConfig(tier=tier, allow_unsandboxed=True)) as sb:
            sb.warm()
            for c in caller_counts:
                results.append(dict(mode="(c) zygote/" + tier, callers=c, **measure(sandbox_fn(sb), args.runs, c)))
            memory[tier] = sb.memory_bytes()
    base = {r["callers"]: r for r in results if r["mode"] == "(b) fork"}
    for r in results:
        b = base[r["callers"]]
        r["p50_vs_fork"] = r["p50_ms"] / b["p50_ms"]
        r["rps_vs_fork"] = r["runs_per_s"] / b["runs_per_s"]
    report = {"host": {"cpus": ncpu, "best_tier": caps["best"], "landlock_abi": caps["landlock_abi"]},
              "results": results,
              "memory": {"parent_rss_mb": rss_of(os.getpid()) / 2**20,
                         "zygotes_rss_mb": {k: v / 2**20 for k, v in memory.items()}}}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("| mode | callers | p50 ms | p99 ms | runs/s | p50 vs (b) | runs/s vs (b) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print("| %s | %d | %.2f | %.2f | %.0f | %.2fx | %.2fx |" % (
            r["mode"], r["callers"], r["p50_ms"], r["p99_ms"], r["runs_per_s"], r["p50_vs_fork"], r["rps_vs_fork"]))
    mem = report["memory"]
    print("\nmemory: parent RSS %.1f MB; zygote pools (pool_size=%d, RSS incl. bwrap): %s" % (
        mem["parent_rss_mb"], ncpu,
        ", ".join("%s %.1f MB" % (k, v) for k, v in mem["zygotes_rss_mb"].items())))


if __name__ == "__main__":
    main()

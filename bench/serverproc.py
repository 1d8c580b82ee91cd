"""A TraceFix server in its own process on 127.0.0.1, and what it holds (for bench/load.py, bench/soak.py).

The load and soak benchmarks need the server's memory, file descriptors, threads and child
processes measured apart from the client that drives it, so the server runs as a separate process
(``python -m tracefix.server.app``) and is read from ``/proc``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sample:
    """One reading of the server process and everything under it."""

    t: float
    rss_mb: float
    """The server process alone (the zygotes are counted in ``tree_rss_mb``)."""
    fds: int
    threads: int
    processes: int
    """Descendants of the server: bwrap, zygotes, spares and runs in progress."""
    tree_rss_mb: float
    """RSS of the descendants (bwrap + zygotes + spares + runs)."""
    cpu_s: float = 0.0
    """CPU time of the server process (all its threads) so far."""
    tree_cpu_s: float = 0.0
    """CPU time of the live descendants and of the runs they reaped so far (the sandbox's work)."""

    def as_dict(self) -> Dict[str, float]:
        return asdict(self)


def _status(pid: int) -> Dict[str, str]:
    out: Dict[str, str] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def descendants(pid: int) -> List[int]:
    """Every live process below ``pid`` (from /proc/<pid>/task/*/children)."""
    found: List[int] = []
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            found += kids
            stack += kids
    return found


def _rss_mb(pid: int) -> float:
    try:
        return int(_status(pid).get("VmRSS", "0 kB").split()[0]) / 1024
    except (OSError, ValueError, IndexError):
        return 0.0


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int, children: bool) -> float:
    """utime + stime of ``pid`` (plus cutime + cstime, its reaped children, with ``children``)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICK


def sample(pid: int) -> Sample:
    status = _status(pid)
    kids = descendants(pid)
    return Sample(
        t=time.monotonic(),
        rss_mb=int(status["VmRSS"].split()[0]) / 1024,
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        threads=int(status["Threads"]),
        processes=len(kids),
        tree_rss_mb=sum(_rss_mb(k) for k in kids),
        cpu_s=_cpu_s(pid, children=False),
        tree_cpu_s=sum(_cpu_s(k, children=True) for k in kids),
    )


class ServerProcess:
    """``python -m tracefix.server.app`` on a free port of 127.0.0.1, stopped on exit."""

    def __init__(self, env: Optional[Dict[str, str]] = None, log_path: Optional[str] = None) -> None:
        self.port = free_port()
        self.env = {**os.environ, "TRACEFIX_LOG_LEVEL": "WARNING", **(env or {})}
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout_s: float = 90.0) -> "ServerProcess":
        return self.launch().wait_ready(timeout_s)

    def launch(self) -> "ServerProcess":
        """Start the process and return at once (start several, then :meth:`wait_ready` for each)."""
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracefix.server.app", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=self._log, stderr=self._log, start_new_session=True,
        )
        return self

    def wait_ready(self, timeout_s: float = 90.0) -> "ServerProcess":
        """Wait until ``/health`` answers (importing OpenEnv takes seconds on a busy machine)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.proc.returncode} (log: {self.log_path})")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the server did not answer /health within {timeout_s:.0f} s")
            time.sleep(0.1)

    def capacity(self) -> Dict[str, object]:
        """The server's ``/capacity`` report (sessions open, sandbox workers idle and waited for)."""
        with urllib.request.urlopen(self.url + "/capacity", timeout=10) as response:
            return json.loads(response.read())

    def sample(self) -> Sample:
        return sample(self.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()  # type: ignore[union-attr]
            self._log = None

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def slope_per_minute(points: List[tuple]) -> float:
    """Least-squares slope of (seconds, value) points, per minute (0 for fewer than two points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return 60.0 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var

"""Parent-side handles on zygote processes, and the thread-safe pool that hands them out.

One :class:`Worker` = one zygote process + its control socket.  A worker serves one run at a time;
:class:`Pool` is a ``queue.Queue`` of workers, so concurrent ``execute`` calls never share one.  A worker
whose zygote died (or that the parent had to kill) is restarted on its next checkout.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import queue
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import bwrap
from .protocol import FrameReader, OutputTail, encode_frame

log = logging.getLogger("tracefix.sandbox")

_SRC_DIR = os.path.dirname(os.path.abspath(__file__))
_MODULES = (
    ("_tracefix_harness", "harness.py"),
    ("_tracefix_limits", "limits.py"),
    ("_tracefix_seccomp", "seccomp.py"),
    ("_tracefix_landlock", "landlock.py"),
    ("_tracefix_zygote", "zygote.py"),
)
START_TIMEOUT_S = 20.0
KILL_GRACE_S = 2.0
"""How long past the run's timeout the parent waits for the zygote before killing it."""


def _sources() -> List[Tuple[str, str]]:
    out = []
    for name, fname in _MODULES:
        with open(os.path.join(_SRC_DIR, fname), encoding="utf-8") as f:
            out.append((name, f.read()))
    return out


class WorkerStartError(RuntimeError):
    pass


class Worker:
    """A zygote at a given tier.  Not thread-safe: the pool guarantees one user at a time."""

    def __init__(self, tier: str, settings: Dict[str, Any], spawn: Callable[[Callable], Any]) -> None:
        self.tier = tier
        self.settings = settings
        self._spawn = spawn
        self.proc: Optional[subprocess.Popen] = None
        self.sock: Optional[socket.socket] = None
        self.tmp_dir: Optional[str] = None
        self.info: Dict[str, Any] = {}
        self.ctrl_buf = b""

    # --- life cycle --------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self.sock is not None

    def start(self) -> None:
        self.stop()
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        s = self.settings
        uid = s["sandbox_uid"]
        is_root = os.geteuid() == 0
        cfg: Dict[str, Any] = {
            "tier": self.tier,
            "preimport": s.get("preimport"),
            "env": dict(bwrap.SANDBOX_ENV),
            "seccomp": self.tier in ("full", "reduced"),
            "landlock": self.tier in ("full", "reduced"),
            "parent_pid": os.getpid(),
            "limits": s.get("limits", {}),
        }
        if self.tier == "full":
            cfg.update(tmp_dir="/tmp", pid_namespace=True, ro_paths=bwrap.read_only_paths())
            argv = bwrap.bwrap_command(uid, s["tmpfs_mb"]) + bwrap.python_command(
                _bootstrap(), child_sock.fileno())
            cwd = "/"
        else:
            self.tmp_dir = tempfile.mkdtemp(prefix="tracefix-sbx-")
            cfg.update(tmp_dir=self.tmp_dir, ro_paths=bwrap.read_only_paths())
            if self.tier == "reduced" and is_root:
                os.chown(self.tmp_dir, uid, uid)
                cfg["drop_uid"] = uid
                cfg["fd_dirs"] = [d for d in bwrap.python_dirs() if not bwrap.accessible_to_others(d)]
            argv = bwrap.python_command(_bootstrap(), child_sock.fileno())
            cwd = self.tmp_dir

        def launch() -> subprocess.Popen:
            return subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(child_sock.fileno(),), env=dict(bwrap.SANDBOX_ENV), cwd=cwd,
                start_new_session=True, close_fds=True,
            )

        try:
            # Popen runs on a long-lived thread: PDEATHSIG (bwrap --die-with-parent) fires when the
            # *thread* that forked the zygote exits, so it must not be a short-lived request thread.
            self.proc = self._spawn(launch)
        finally:
            child_sock.close()
        self.sock = parent_sock
        self.ctrl_buf = b""
        try:
            parent_sock.sendall(encode_frame({"modules": _sources(), "config": cfg}))
            msg = self._read_ctrl(time.monotonic() + START_TIMEOUT_S)
        except OSError as e:
            msg = {"t": "error", "msg": str(e)}
        if not msg or msg.get("t") != "ready":
            err = (msg or {}).get("msg", "no answer")
            self.stop()
            raise WorkerStartError("zygote (%s tier) failed to start: %s" % (self.tier, str(err)[-2000:]))
        self.info = msg

    def stop(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, 9)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    self.proc.kill()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
            self.proc = None
        if self.tmp_dir:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None

    # --- control channel ---------------------------------------------------------------------------
    def _read_ctrl(self, deadline: float) -> Optional[dict]:
        assert self.sock is not None
        while True:
            if len(self.ctrl_buf) >= 4:
                n = struct.unpack(">I", self.ctrl_buf[:4])[0]
                if n > 1 << 20:
                    return None
                if len(self.ctrl_buf) >= 4 + n:
                    raw, self.ctrl_buf = self.ctrl_buf[4:4 + n], self.ctrl_buf[4 + n:]
                    try:
                        obj = json.loads(raw)
                    except ValueError:
                        return None
                    return obj if isinstance(obj, dict) else None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], remaining)
            if not r:
                return None
            data = self.sock.recv(1 << 16)
            if not data:
                return None
            self.ctrl_buf += data

    # --- one run -----------------------------------------------------------------------------------
    def run(self, request: dict, timeout_s: float, max_result_bytes: int) -> Dict[str, Any]:
        """Send one run; collect frames, output and the zygote's report.

        Returns a dict with ``reader``, ``output``, ``done`` (or None), ``worker_died``,
        ``parent_timed_out``, ``sent`` (False when the request never reached the zygote).
        """
        reader = FrameReader(max_frame=max_result_bytes + 65536, max_total=max_result_bytes * 4 + 65536)
        output = OutputTail()
        res: Dict[str, Any] = {"reader": reader, "output": output, "done": None, "worker_died": False,
                               "parent_timed_out": False, "sent": False}
        assert self.sock is not None
        res_r, res_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(res_r, False)  # only our ends: the child's ends must block
        os.set_blocking(out_r, False)
        try:
            try:
                socket.send_fds(self.sock, [encode_frame(request)], [res_w, out_w])
            except OSError:
                res["worker_died"] = True
                return res
            finally:
                os.close(res_w)
                os.close(out_w)
            res["sent"] = True
            self._collect(res, res_r, out_r, time.monotonic() + timeout_s + KILL_GRACE_S)
        finally:
            os.close(res_r)
            os.close(out_r)
        reader.finish()
        return res

    def _collect(self, res: Dict[str, Any], res_r: int, out_r: int, deadline: float) -> None:
        assert self.sock is not None
        sock = self.sock
        reader: FrameReader = res["reader"]
        output: OutputTail = res["output"]
        poller = select.poll()
        ctrl = sock.fileno()
        open_fds = {res_r, out_r, ctrl}
        for fd in open_fds:
            poller.register(fd, select.POLLIN)
        while res_r in open_fds or out_r in open_fds or ctrl in open_fds:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if res["done"] is None:
                    res["parent_timed_out"] = res["worker_died"] = True
                    log.warning("sandbox zygote did not answer in time; killing it")
                    self.stop()  # also closes the pipes' other ends held by the run
                return
            for fd, _ev in poller.poll(max(1, int(remaining * 1000))):
                if fd not in open_fds:
                    continue
                if fd == ctrl:
                    try:
                        data = sock.recv(1 << 16)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if data:
                        self.ctrl_buf += data
                        msg = self._parse_ctrl()
                        if msg is None:
                            continue
                        if msg.get("t") == "done":
                            res["done"] = msg
                        else:
                            res["worker_died"] = True
                    else:
                        res["worker_died"] = True  # zygote gone: its run died with it
                    poller.unregister(ctrl)
                    open_fds.discard(ctrl)
                    continue
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                elif fd == res_r:
                    reader.feed(data)
                else:
                    output.feed(data)

    def _parse_ctrl(self) -> Optional[dict]:
        if len(self.ctrl_buf) < 4:
            return None
        n = struct.unpack(">I", self.ctrl_buf[:4])[0]
        if n > 1 << 20:
            return {"t": "bad"}
        if len(self.ctrl_buf) < 4 + n:
            return None
        raw, self.ctrl_buf = self.ctrl_buf[4:4 + n], self.ctrl_buf[4 + n:]
        try:
            obj = json.loads(raw)
        except ValueError:
            return {"t": "bad"}
        return obj if isinstance(obj, dict) else {"t": "bad"}


_BOOT: Optional[str] = None


def _bootstrap() -> str:
    global _BOOT
    if _BOOT is None:
        from .zygote import BOOTSTRAP
        _BOOT = BOOTSTRAP
    return _BOOT


class Pool:
    """Thread-safe checkout of workers (``queue.Queue``); dead workers restart on checkout."""

    def __init__(self, tier: str, size: int, settings: Dict[str, Any]) -> None:
        self.tier = tier
        self.size = max(1, size)
        self._spawner = ThreadPoolExecutor(max_workers=min(4, self.size),
                                           thread_name_prefix="tracefix-sandbox-spawn")
        self._idle: "queue.Queue[Worker]" = queue.Queue()
        self._all: List[Worker] = []
        self._closed = False
        for _ in range(self.size):
            w = Worker(tier, settings, self._spawn)
            self._all.append(w)
            self._idle.put(w)

    def _spawn(self, fn: Callable[[], Any]) -> Any:
        return self._spawner.submit(fn).result()

    def checkout(self) -> Worker:
        w = self._idle.get()
        if self._closed:
            self._idle.put(w)
            raise RuntimeError("sandbox is closed")
        if not w.alive:
            try:
                w.start()
            except BaseException:
                self._idle.put(w)
                raise
        return w

    def checkin(self, w: Worker) -> None:
        self._idle.put(w)

    def warm(self) -> None:
        """Start every worker now (in parallel) instead of on first use."""
        ws = [self._idle.get() for _ in range(self.size)]
        try:
            with ThreadPoolExecutor(max_workers=len(ws)) as ex:
                list(ex.map(lambda w: w.alive or w.start(), ws))
        finally:
            for w in ws:
                self._idle.put(w)

    def close(self) -> None:
        self._closed = True
        for w in self._all:
            w.stop()
        self._spawner.shutdown(wait=False)

    def rss_bytes(self) -> int:
        total = 0
        for w in self._all:
            if w.proc is None:
                continue
            total += _tree_rss(w.proc.pid)
        return total


def _tree_rss(pid: int) -> int:
    """RSS of a process and its descendants (bwrap + zygote), from /proc."""
    total = 0
    stack = [pid]
    seen = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open("/proc/%d/statm" % p) as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    stack += [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            continue
    return total

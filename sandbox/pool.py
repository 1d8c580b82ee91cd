"""Parent-side handles on zygote processes, and the fair pool that hands them out.

One :class:`Worker` = one zygote process, its control socket, and the link to its current spare
(the already confined child that will serve the next run).  A run's request goes straight into that
link, never through the zygote (see ``zygote.py``).  :class:`Pool` hands workers out first come,
first served, one at a time, and gives up after ``max_wait_s`` with :class:`PoolBusy`.
"""

from __future__ import annotations

import collections
import fcntl
import json
import logging
import os
import select
import socket
import struct
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from . import bwrap
from .protocol import FrameReader, OutputTail, encode_frame

log = logging.getLogger("tracefix.sandbox")

_SRC_DIR = os.path.dirname(os.path.abspath(__file__))
_MODULES = (
    ("_tracefix_harness", "harness.py"),
    ("_tracefix_limits", "limits.py"),
    ("_tracefix_seccomp", "seccomp.py"),
    ("_tracefix_landlock", "landlock.py"),
    ("_tracefix_confine", "confine.py"),
    ("_tracefix_zygote", "zygote.py"),
)
START_TIMEOUT_S = 20.0
KILL_GRACE_S = 2.0
"""How long past the run's timeout the parent waits for the zygote before killing it."""
ZYGOTE_CAPS = [5, 6, 7, 21]
"""CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN: all a root zygote (reduced tier) keeps, to
mount a run's tmpfs, switch the run to its uid and kill it."""


def _sources() -> List[Tuple[str, str]]:
    out = []
    for name, fname in _MODULES:
        with open(os.path.join(_SRC_DIR, fname), encoding="utf-8") as f:
            out.append((name, f.read()))
    return out


class WorkerStartError(RuntimeError):
    pass


class PoolBusy(RuntimeError):
    """No worker became free within the configured wait."""


class UidLease:
    """A uid of the configured range that no other zygote on this host uses while the lease is held.

    Held as an ``flock`` on ``<dir>/<uid>.lock``: released when the worker closes it or the process
    dies, so servers on one host (or several sandboxes in one process) never share a run uid.
    """

    def __init__(self, base: int, count: int) -> None:
        self.directory = _lock_dir()
        self.uid = -1
        self._fd: Optional[int] = None
        for uid in range(base, base + count):
            fd = os.open(os.path.join(self.directory, "%d.lock" % uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            return
        raise WorkerStartError("no free sandbox uid in %d..%d (raise TRACEFIX_SANDBOX_UID_COUNT)" % (base, base + count - 1))

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _lock_dir() -> str:
    for parent in ("/run/lock", tempfile.gettempdir()):
        path = os.path.join(parent, "tracefix-uids")
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
        except OSError:
            continue
    raise WorkerStartError("no writable directory for sandbox uid locks")


class Worker:
    """A zygote at a given tier.  Not thread-safe: the pool guarantees one user at a time."""

    def __init__(self, tier: str, settings: Dict[str, Any], spawn: Callable[[Callable], Any]) -> None:
        self.tier = tier
        self.settings = settings
        self._spawn = spawn
        self.proc: Optional[subprocess.Popen] = None
        self.sock: Optional[socket.socket] = None
        self.link: Optional[socket.socket] = None
        self.info: Dict[str, Any] = {}
        self.ctrl_buf = b""
        self.uid_lease: Optional[UidLease] = None

    # --- life cycle --------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self.sock is not None and self.link is not None

    def start(self) -> None:
        self.stop()
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        s = self.settings
        cfg: Dict[str, Any] = {
            "tier": self.tier,
            "preimport": s.get("preimport"),
            "env": dict(bwrap.SANDBOX_ENV),
            "seccomp": self.tier in ("full", "reduced"),
            "landlock": self.tier in ("full", "reduced"),
            "limits": s.get("limits", {}),
            "ro_paths": bwrap.read_only_paths(),
            "tmp": {"path": "/tmp", "size": s["tmpfs_mb"] << 20, "inodes": s["tmpfs_inodes"]},
        }
        if self.tier == "full":
            cfg["pid_namespace"] = True
            argv = bwrap.bwrap_command(s["sandbox_uid"], s["tmpfs_mb"]) + bwrap.python_command(
                _bootstrap(), child_sock.fileno())
        else:
            if self.tier == "reduced" and os.geteuid() == 0:
                if self.uid_lease is None:
                    self.uid_lease = UidLease(s["uid_base"], s["uid_count"])
                cfg["run_uid"] = self.uid_lease.uid
                cfg["zygote_caps"] = ZYGOTE_CAPS
                cfg["fd_dirs"] = [d for d in bwrap.python_dirs() if not bwrap.accessible_to_others(d)]
            argv = bwrap.python_command(_bootstrap(), child_sock.fileno())

        def launch() -> subprocess.Popen:
            return subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(child_sock.fileno(),), env=dict(bwrap.SANDBOX_ENV), cwd="/",
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
            if msg and msg.get("t") == "ready":
                self.link = self._hand_link({"op": "spare"})
        except OSError as e:
            msg = {"t": "error", "msg": str(e)}
        if not msg or msg.get("t") != "ready" or self.link is None:
            err = (msg or {}).get("msg", "no answer")
            self.stop()
            raise WorkerStartError("zygote (%s tier) failed to start: %s" % (self.tier, str(err)[-2000:]))
        self.info = msg

    def _hand_link(self, op: Dict[str, Any]) -> socket.socket:
        """Send the zygote ``op`` with the child end of a fresh link, around which it forks the next
        spare (now for ``spare``, after the current run for ``run``); return our end."""
        assert self.sock is not None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            socket.send_fds(self.sock, [encode_frame(op)], [theirs.fileno()])
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return ours

    def stop(self) -> None:
        """Kill the zygote and everything in it.  Never raises: a worker can always be replaced."""
        for name in ("sock", "link"):
            s = getattr(self, name)
            setattr(self, name, None)
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                if proc.poll() is None:
                    try:
                        os.killpg(proc.pid, 9)
                    except (ProcessLookupError, PermissionError):
                        pass
                    proc.kill()
                proc.wait(timeout=5)
            except Exception as e:  # pragma: no cover - defensive: stop() must always succeed
                log.warning("could not reap sandbox zygote %s: %s", proc.pid, e)

    def close(self) -> None:
        self.stop()
        if self.uid_lease is not None:
            self.uid_lease.release()
            self.uid_lease = None

    # --- control channel ---------------------------------------------------------------------------
    def _read_ctrl(self, deadline: float) -> Optional[dict]:
        assert self.sock is not None
        while True:
            msg = self._parse_ctrl()
            if msg is not None:
                return None if msg.get("t") == "bad" else msg
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

    # --- one run -----------------------------------------------------------------------------------
    def run(self, request: bytes, timeout_s: float, max_frames: int) -> Dict[str, Any]:
        """Send one run (an encoded request frame) to the spare; collect frames, output and the
        zygote's report.

        Returns a dict with ``reader``, ``output``, ``done`` (or None), ``worker_died``,
        ``parent_timed_out`` and ``retryable`` (True when the request never reached a run).
        """
        s = self.settings
        max_result = s["max_result_bytes"]
        reader = FrameReader(max_frame=max_result + 65536, max_total=max_result * 4 + 65536, max_frames=max_frames)
        output = OutputTail(max_bytes=s["max_output_mb"] << 20)
        res: Dict[str, Any] = {"reader": reader, "output": output, "done": None, "worker_died": False,
                               "parent_timed_out": False, "retryable": False}
        assert self.sock is not None and self.link is not None
        res_r, res_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(res_r, False)  # only our ends: the child's ends must block
        os.set_blocking(out_r, False)
        link, self.link = self.link, None
        deadline = time.monotonic() + timeout_s + KILL_GRACE_S
        closed: set = set()
        try:
            try:
                self.link = self._hand_link({"op": "run", "timeout": timeout_s})  # the run starts now
            except OSError:
                link.close()
                res["worker_died"] = res["retryable"] = True
                return res
            try:
                link.settimeout(max(0.1, deadline - time.monotonic()))
                sent = socket.send_fds(link, [request[:65536]], [res_w, out_w])
                if sent < len(request):  # (never send b"": the child may have run and exited already)
                    link.sendall(request[sent:])
            except OSError:
                res["retryable"] = True  # the spare was gone: no run happened; the zygote says why
            finally:
                link.close()
                os.close(res_w)
                os.close(out_w)
                closed.update((res_w, out_w))
            self._collect(res, res_r, out_r, deadline, closed)
        finally:
            # Only what is still open here: a number closed twice may by then belong to another
            # thread's run.
            for fd in {res_r, out_r, res_w, out_w} - closed:
                os.close(fd)
        reader.finish()
        return res

    def _collect(self, res: Dict[str, Any], res_r: int, out_r: int, deadline: float, closed: set) -> None:
        assert self.sock is not None
        sock = self.sock
        reader: FrameReader = res["reader"]
        output: OutputTail = res["output"]
        poller = select.poll()
        ctrl = sock.fileno()
        open_fds = {res_r, out_r, ctrl}
        for fd in open_fds:
            poller.register(fd, select.POLLIN)

        def drop(fd: int) -> None:
            poller.unregister(fd)
            open_fds.discard(fd)
            if fd != ctrl:
                os.close(fd)  # the run's next write to it raises SIGPIPE: the run ends
                closed.add(fd)

        while open_fds:
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
                    drop(ctrl)
                    continue
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    drop(fd)
                elif fd == res_r:
                    reader.feed(data)
                    if reader.stopped:
                        drop(fd)
                else:
                    output.feed(data)
                    if output.over_limit:
                        drop(fd)


_BOOT: Optional[str] = None


def _bootstrap() -> str:
    global _BOOT
    if _BOOT is None:
        from .zygote import BOOTSTRAP
        _BOOT = BOOTSTRAP
    return _BOOT


class _Waiter:
    __slots__ = ("event", "worker")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.worker: Optional[Worker] = None


class Pool:
    """Hands out workers first come, first served; dead workers restart on checkout.

    A free worker goes straight to the longest-waiting caller (no barging), so a caller waits at
    most for the runs queued ahead of it: ``ceil(position / size)`` run limits.  ``checkout`` gives
    up after ``max_wait_s`` with :class:`PoolBusy`.
    """

    def __init__(self, tier: str, size: int, settings: Dict[str, Any]) -> None:
        self.tier = tier
        self.size = max(1, size)
        self._spawner = ThreadPoolExecutor(max_workers=min(4, self.size),
                                           thread_name_prefix="tracefix-sandbox-spawn")
        self._lock = threading.Lock()
        self._idle: Deque[Worker] = collections.deque()
        self._waiters: Deque[_Waiter] = collections.deque()
        self._all: List[Worker] = []
        self._closed = False
        for _ in range(self.size):
            w = Worker(tier, settings, self._spawn)
            self._all.append(w)
            self._idle.append(w)

    def _spawn(self, fn: Callable[[], Any]) -> Any:
        return self._spawner.submit(fn).result()

    def checkout(self, max_wait_s: float) -> Worker:
        started = time.monotonic()
        with self._lock:
            if self._closed:
                raise RuntimeError("sandbox is closed")
            if self._idle and not self._waiters:
                w = self._idle.popleft()
                waiter = None
            else:
                waiter = _Waiter()
                self._waiters.append(waiter)
                position = len(self._waiters)
        if waiter is not None:
            if not waiter.event.wait(max_wait_s):
                with self._lock:
                    if waiter.worker is None:
                        self._waiters.remove(waiter)
                        raise PoolBusy(
                            "the sandbox is busy: no worker became free within %g s (max wait; position %d "
                            "in the queue of %d workers)" % (max_wait_s, position, self.size))
            assert waiter.worker is not None
            w = waiter.worker
            if self._closed:
                self.checkin(w)
                raise RuntimeError("sandbox is closed")
        if not w.alive:
            try:
                w.start()
            except BaseException:
                self.checkin(w)
                raise
        log.debug("sandbox worker checked out after %.3f s", time.monotonic() - started)
        return w

    def checkin(self, w: Worker) -> None:
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                waiter.worker = w
                waiter.event.set()
                return
            self._idle.append(w)

    def status(self) -> Dict[str, int]:
        """A snapshot for monitoring: workers in the pool, free now, and callers waiting for one."""
        with self._lock:
            return {"size": self.size, "idle": len(self._idle), "waiting": len(self._waiters)}

    def warm(self) -> None:
        """Start every worker now (in parallel) instead of on first use."""
        with ThreadPoolExecutor(max_workers=self.size) as ex:
            ws = list(ex.map(lambda _: self.checkout(START_TIMEOUT_S * 2), range(self.size)))
        for w in ws:
            self.checkin(w)

    def close(self) -> None:
        self._closed = True
        for w in self._all:
            w.close()
        self._spawner.shutdown(wait=False)

    def rss_bytes(self) -> int:
        total = 0
        for w in self._all:
            if w.proc is None:
                continue
            total += _tree_rss(w.proc.pid)
        return total


def _tree_rss(pid: int) -> int:
    """RSS of a process and its descendants (bwrap + zygote + spare), from /proc."""
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

"""The warm zygote: a Python process inside the sandbox that forks one fresh child per run.

Self-contained and stdlib-only: the parent starts ``python -I -S -c BOOTSTRAP <fd>`` (inside bwrap for
the "full" tier), then sends this module's source together with ``harness``, ``seccomp``, ``landlock``
and ``limits`` over the control socket; the bootstrap executes them and calls :func:`main`.

Why a zygote: an interpreter start costs ~9 ms and importing the usual modules more; a ``fork`` of a
warm interpreter costs well under a millisecond.  Why one child per run: whatever the candidate does
to interpreter state (monkeypatching, globals, threads) dies with the child.

Control protocol (unix stream socket, frames = 4-byte big-endian length + JSON):

* zygote -> parent ``{"t": "ready", ...}`` once set up (or ``{"t": "error", "msg": ...}``).
* parent -> zygote ``{"op": "run", ...}`` with two fds attached (SCM_RIGHTS): the write ends of the
  result pipe and of the output pipe.  The child streams result frames straight to the parent.
* zygote -> parent ``{"t": "done", "status": <wait status>, "timed_out": bool, "cpu": s}`` after the
  child and anything it left behind are dead and the private tmp is clean again.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import select
import shutil
import signal
import socket
import stat
import struct
import sys
import time
from typing import Dict, List, Optional

BOOTSTRAP = r"""
import os, sys, json, types
fd = int(sys.argv[1])
def rd(n):
    b = b''
    while len(b) < n:
        c = os.read(fd, n - len(b))
        if not c:
            os._exit(3)
        b += c
    return b
blob = json.loads(rd(int.from_bytes(rd(4), 'big')))
try:
    for name, src in blob['modules']:
        m = types.ModuleType(name)
        sys.modules[name] = m
        exec(compile(src, '<' + name + '>', 'exec'), m.__dict__)
    sys.modules['_tracefix_zygote'].main(fd, blob['config'])
except BaseException as e:
    import traceback
    msg = json.dumps({'t': 'error', 'msg': traceback.format_exc()[-3000:]}).encode()
    try:
        os.write(fd, len(msg).to_bytes(4, 'big') + msg)
    except OSError:
        pass
    os._exit(4)
"""

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
RESULT_FD = 3
MAX_CTRL_FRAME = 64 * 1024 * 1024

WARMUP_REQUEST = {
    "code": "def f(a, b):\n    return [a + b, (a, b)]\n",
    "setup_code": "",
    "tests": [[["exec", "x = f(1, 2)"], ["eval", "f(x[0], 2)"]]],
}

PREIMPORT = (
    "math", "collections", "itertools", "functools", "heapq", "bisect", "re", "string",
    "dataclasses", "typing", "fractions", "datetime", "json", "enum", "copy", "operator",
    "random", "decimal", "statistics", "abc", "array", "textwrap", "unicodedata",
)


def _send(sock: socket.socket, obj: dict) -> None:
    data = json.dumps(obj, separators=(",", ":")).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)


class _Reader:
    """Reads length-prefixed frames (and attached fds) from the control socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def frame(self):
        fds: List[int] = []
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if n > MAX_CTRL_FRAME:
                    raise ValueError("control frame too large")
                if len(self.buf) >= 4 + n:
                    data, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    self.last_raw = data
                    return json.loads(data), fds
            data, got, _flags, _addr = socket.recv_fds(self.sock, 1 << 16, 4)
            fds.extend(got)
            if not data:
                return None, fds
            self.buf += data


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, arg: int) -> None:
    _libc().prctl(option, arg, 0, 0, 0)


class Zygote:
    def __init__(self, ctrl_fd: int, cfg: dict) -> None:
        self.cfg = cfg
        self.sock = socket.socket(fileno=ctrl_fd)
        self.reader = _Reader(self.sock)
        self.harness = sys.modules["_tracefix_harness"]
        self.limits = sys.modules["_tracefix_limits"]
        self.seccomp = sys.modules["_tracefix_seccomp"]
        self.landlock = sys.modules["_tracefix_landlock"]
        self.tier = cfg["tier"]
        self.pid_ns = bool(cfg.get("pid_namespace"))
        self.tmp = cfg["tmp_dir"]
        self.keep_fds: List[int] = []
        self.scope_fd: Optional[int] = None
        self.arch = None
        self.report: Dict[str, object] = {"t": "ready", "tier": self.tier}

    # --- set-up ------------------------------------------------------------------------------------
    def setup(self) -> None:
        for name in self.cfg.get("preimport") or PREIMPORT:
            try:
                __import__(name)
            except Exception:
                pass
        signal.signal(signal.SIGINT, signal.SIG_DFL if self.pid_ns else signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace", line_buffering=True)
            sys.stderr.reconfigure(encoding="utf-8", errors="backslashreplace", line_buffering=True)
        except Exception:
            pass
        self.devnull = _high_fd(os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC))
        os.chdir(self.tmp)
        os.environ.clear()
        os.environ.update(self.cfg.get("env", {}))
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        # Directories the dropped uid cannot traverse (e.g. a pyenv under /root): keep an O_PATH fd
        # opened while still root and import through /proc/self/fd/N (the magic link skips the
        # permission check on the inaccessible ancestors; Landlock still applies to the target).
        remap = {}
        for d in self.cfg.get("fd_dirs", []):
            fd = _high_fd(os.open(d, os.O_PATH | os.O_DIRECTORY))
            self.keep_fds.append(fd)
            remap[d] = "/proc/self/fd/%d" % fd
        if self.cfg.get("seccomp") or self.cfg.get("landlock"):
            self.seccomp.set_no_new_privs()
        if self.cfg.get("landlock"):
            info = self.landlock.restrict_zygote(self.cfg["ro_paths"], [self.tmp])
            self.report["landlock"] = info
            abi = int(info.get("abi", 0))
            if abi >= 6:
                self.scope_fd = _high_fd(self.landlock.prepare_run_scope(abi))
        else:
            self.report["landlock"] = {"abi": 0}
        drop = self.cfg.get("drop_uid")
        if drop is not None and os.geteuid() == 0:
            os.setgroups([])
            os.setgid(drop)
            os.setuid(drop)
        if remap:
            def fix(p: str) -> str:
                for d, r in remap.items():
                    if p == d or p.startswith(d + "/"):
                        return r + p[len(d):]
                return p
            sys.path[:] = [fix(p) for p in sys.path]
            for mod in list(sys.modules.values()):
                paths = getattr(mod, "__path__", None)
                if isinstance(paths, list):
                    paths[:] = [fix(p) if isinstance(p, str) else p for p in paths]
            sys.path_importer_cache.clear()
        if self.cfg.get("parent_pid") and not self.pid_ns:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != self.cfg["parent_pid"]:
                os._exit(5)
        if self.cfg.get("seccomp"):
            self.arch = self.seccomp.machine()
            self.seccomp.install(self.seccomp.build_zygote_filter(self.arch))
            self.report["seccomp"] = self.arch
        self.report.update(pid=os.getpid(), uid=os.getuid(), gid=os.getgid(),
                           python=sys.version.split()[0])
        gc.collect()
        if hasattr(gc, "freeze"):
            gc.freeze()  # keeps the GC from touching (and so copying) the zygote's pages in children

    # --- serving -----------------------------------------------------------------------------------
    def serve(self) -> None:
        self._prefork()
        _send(self.sock, self.report)
        while True:
            msg, fds = self.reader.frame()
            if msg is None:
                os._exit(0)
            if msg.get("op") == "run" and len(fds) == 2:
                self.run(msg, fds[0], fds[1])
            else:
                for fd in fds:
                    os.close(fd)
                _send(self.sock, {"t": "error", "msg": "bad request"})

    def _prefork(self) -> None:
        """Fork the *next* run's child now, off the critical path: it sets up its confinement and
        then blocks until the request (and its two fds) arrive over a private socketpair."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            ours.close()
            self.child(theirs)
        theirs.close()
        self.spare = (pid, ours)

    def run(self, req: dict, res_w: int, out_w: int) -> None:
        timeout = float(req.get("timeout", 5.0))
        payload = self.reader.last_raw
        frame = struct.pack(">I", len(payload)) + payload
        pid, link = self.spare
        try:
            socket.send_fds(link, [frame], [res_w, out_w])
        except OSError:
            # The spare died while idle (should not happen): reap it and start a fresh one.
            self._reap(pid)
            self._prefork()
            pid, link = self.spare
            socket.send_fds(link, [frame], [res_w, out_w])
        t0 = time.monotonic()
        os.close(res_w)
        os.close(out_w)
        link.close()
        timed_out, status, cpu = self._wait(pid, t0 + timeout)
        _send(self.sock, {"t": "done", "status": status, "timed_out": timed_out, "cpu": cpu,
                          "wall": time.monotonic() - t0})
        # Clean up after answering: the parent still waits for EOF on the run's pipes, which any
        # leftover process would hold open, and the next request waits for all of this.
        self._kill_leftovers(pid)
        try:
            self._clean_tmp()
        except Exception:
            pass
        self._prefork()

    def _reap(self, pid: int) -> None:
        self._kill(pid)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass

    def _wait(self, pid: int, deadline: float):
        """Wait for the run child until ``deadline``; kill it then.  Returns (timed_out, status, cpu)."""
        timed_out = False
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        try:
            while True:
                remaining = deadline - time.monotonic()
                if pidfd is not None:
                    if remaining > 0 and not select.select([pidfd], [], [], remaining)[0]:
                        continue
                    if remaining <= 0:
                        timed_out = True
                    break
                got, status = os.waitpid(pid, os.WNOHANG)
                if got:  # polling fallback (kernels without pidfd): already reaped
                    return False, status, 0.0
                if remaining <= 0:
                    timed_out = True
                    break
                time.sleep(0.0005)
        finally:
            if pidfd is not None:
                os.close(pidfd)
        if timed_out:
            self._kill(pid)
        _, status, ru = os.wait4(pid, 0)
        return timed_out, status, ru.ru_utime + ru.ru_stime

    def _kill(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _kill_leftovers(self, pid: int) -> None:
        """Nothing a run started may outlive it (daemons, double forks, setsid'd children)."""
        if self.pid_ns:
            # We are pid 1 of our own pid namespace: everything else in it belongs to the run.
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for _ in range(10000):
            # As a subreaper we inherit every orphan of the run: kill and reap until none is left.
            kids = self._children()
            for k in kids:
                try:
                    os.kill(k, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                got, _ = os.waitpid(-1, 0 if kids or self.pid_ns else os.WNOHANG)
            except ChildProcessError:
                return
            if got == 0 and not kids:
                return

    def _children(self) -> List[int]:
        try:
            with open("/proc/self/task/%d/children" % os.getpid()) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def _clean_tmp(self) -> None:
        """The next run must not see this run's files (even ones it made unreadable)."""
        try:
            os.chmod(self.tmp, 0o700)
            names = os.listdir(self.tmp)
        except OSError:
            return
        for name in names:
            path = os.path.join(self.tmp, name)
            try:
                if stat.S_ISDIR(os.lstat(path).st_mode):
                    os.chmod(path, 0o700)  # top-down walk: each dir is opened after its chmod
                    for root, dirs, _files in os.walk(path):
                        for d in dirs:
                            try:
                                os.chmod(os.path.join(root, d), 0o700)
                            except OSError:
                                pass
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except Exception:
                pass

    # --- the run child -----------------------------------------------------------------------------
    def child(self, link: socket.socket) -> None:
        """Body of a run child: confine, wait for the request, run the harness, exit."""
        code = self.harness.EXIT_INTERNAL
        try:
            if not self.pid_ns:
                _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            os.setpgid(0, 0)
            os.dup2(self.devnull, 0)
            if self.scope_fd is not None:
                self.landlock.restrict_run_scope(self.scope_fd)
            # close everything we inherited (control socket, tmp fds...) but our link and the kept fds
            link_fd = _high_fd(link.detach())
            keep = sorted(self.keep_fds + [link_fd])
            lo = 3
            for fd in keep + [1 << 20]:
                if fd >= lo:
                    os.closerange(lo, min(fd, 65536))
                    lo = fd + 1
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.limits.apply(self.cfg.get("limits", {}))
            if self.arch is not None:
                self.seccomp.install(self.seccomp.build_run_filter(self.arch, os.getpid()))
            # Warm-up: run a tiny program now, while idle, so the copy-on-write page faults of the
            # harness' code paths are paid before the request arrives rather than during it.
            try:
                self.harness.run(WARMUP_REQUEST, 0)
            except BaseException:
                pass
            link = socket.socket(fileno=link_fd)
            req, fds = _Reader(link).frame()
            if req is None or len(fds) != 2:
                code = 0
                return
            res_w, out_w = fds
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            os.dup2(res_w, RESULT_FD)
            for fd in (res_w, out_w, link_fd):
                if fd > RESULT_FD:
                    os.close(fd)
            self.limits.apply_cpu(req.get("limits", {}))
            code = self.harness.run(req, RESULT_FD)
        except BaseException as e:
            try:
                os.write(2, ("sandbox internal error: %r\n" % (e,)).encode())
            except BaseException:
                pass
        finally:
            os._exit(code)


def _high_fd(fd: int) -> int:
    """Move an fd the zygote keeps to >= 10, so the child's fixed fds (0-3) never clobber it."""
    import fcntl
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


def main(ctrl_fd: int, cfg: dict) -> None:
    z = Zygote(ctrl_fd, cfg)
    z.setup()
    z.serve()

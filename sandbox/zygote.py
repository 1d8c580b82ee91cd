"""The warm zygote: a Python process inside the sandbox that forks one fresh, confined child per run.

Self-contained and stdlib-only: the parent starts ``python -I -S -c BOOTSTRAP <fd>`` (inside bwrap for
the "full" tier), then sends this module's source together with ``harness``, ``seccomp``, ``landlock``,
``confine`` and ``limits`` over the control socket; the bootstrap executes them and calls :func:`main`.

Why a zygote: an interpreter start costs ~9 ms and importing the usual modules more; a ``fork`` of a
warm interpreter costs well under a millisecond.  Why one child per run: whatever the candidate does
to interpreter state (monkeypatching, globals, threads, files) dies with the child.

**The zygote never sees a request.**  A run child is forked *before* its request exists (the
"spare"), from a zygote that has never held one: the parent hands the spare one end of a socket
pair of its own making and later writes the request (code, test expressions) straight into it.
Nothing of a run (its code, its tests, hidden ones included) is ever in the zygote's memory, so no
later run, forked from it, can find it there.  The spare confines itself while it waits (private
mount namespace and tmpfs, Landlock, uid, capabilities, rlimits, seccomp), so the request arrives
in an already locked-down process.

Control protocol (unix stream socket, frames = 4-byte big-endian length + JSON):

* zygote -> parent ``{"t": "ready", ...}`` once set up (or ``{"t": "error", "msg": ...}``).
* parent -> zygote ``{"op": "spare"}`` with one fd attached (SCM_RIGHTS): the child end of the next
  run's link.  The zygote forks the spare, which keeps it; the zygote closes its copy.
* parent -> zygote ``{"op": "run", "timeout": s}`` with the *next* spare's link end attached: the
  parent has written (or is writing) the request into the current spare's link.  The zygote times
  the spare, kills it at the deadline, reaps everything it left, checks that nothing about the
  zygote changed, and answers
* zygote -> parent ``{"t": "done", "status": <wait status>, "timed_out": bool, "cpu": s,
  "clean": bool, "why": str}``.  A zygote that is not clean exits: the parent starts a new one.
  Otherwise it forks the next spare.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from typing import Dict, List, Optional

BOOTSTRAP = r"""
def _boot():
    import os, sys, json, types
    scope = globals()
    for key in [k for k in scope if not k.startswith('__')]:
        del scope[key]
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
    modules, config = blob.pop('modules'), blob.pop('config')
    try:
        while modules:
            name, src = modules.pop(0)
            module = types.ModuleType(name)
            sys.modules[name] = module
            exec(compile(src, '<' + name + '>', 'exec'), module.__dict__)
        del name, src, module
        sys.modules['_tracefix_zygote'].main(fd, config)
    except BaseException:
        import traceback
        msg = json.dumps({'t': 'error', 'msg': traceback.format_exc()[-3000:]}).encode()
        try:
            os.write(fd, len(msg).to_bytes(4, 'big') + msg)
        except OSError:
            pass
        os._exit(4)
_boot()
"""

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
RESULT_FD = 3
MAX_CTRL_FRAME = 64 * 1024 * 1024
EXIT_CONFINE = 89
"""Exit code of a spare that could not confine itself (it never ran anything)."""

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
    """Reads length-prefixed frames (and attached fds) from a unix socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def frame(self):
        fds: List[int] = []
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if n > MAX_CTRL_FRAME:
                    raise ValueError("frame too large")
                if len(self.buf) >= 4 + n:
                    data, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return json.loads(data), fds
            data, got, _flags, _addr = socket.recv_fds(self.sock, 1 << 16, 4)
            fds.extend(got)
            if not data:
                return None, fds
            self.buf += data


def _libc():
    import ctypes
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
        self.confine = sys.modules["_tracefix_confine"]
        self.tier = cfg["tier"]
        self.pid_ns = bool(cfg.get("pid_namespace"))
        self.run_uid: Optional[int] = cfg.get("run_uid")
        self.keep_fds: List[int] = []
        self.arch = None
        self.run_filter = None
        self.rules = None
        self.spare: Optional[int] = None
        self.tmp_mode = "none"
        self.baseline: Dict[str, object] = {}
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
        os.chdir("/tmp" if self.pid_ns else "/")
        os.environ.clear()
        os.environ.update(self.cfg.get("env", {}))
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        # Directories a dropped uid cannot traverse (e.g. a pyenv under /root): keep an O_PATH fd
        # opened while still root and import through /proc/self/fd/N (the magic link skips the
        # permission check on the inaccessible ancestors; Landlock still applies to the target).
        remap = {}
        for d in self.cfg.get("fd_dirs", []):
            fd = _high_fd(os.open(d, os.O_PATH | os.O_DIRECTORY))
            self.keep_fds.append(fd)
            remap[d] = "/proc/self/fd/%d" % fd
        if remap:
            _remap_import_paths(remap)
        # Nothing of this process can be read or traced through /proc by an unprivileged peer.
        self.confine.set_dumpable(False)
        if self.cfg.get("seccomp") or self.cfg.get("landlock"):
            self.seccomp.set_no_new_privs()
        keep = self.cfg.get("zygote_caps")
        if keep is not None and os.geteuid() == 0:
            self.confine.keep_only_caps(keep)
        if not self.pid_ns:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the control socket's EOF covers the race
        if self.cfg.get("seccomp"):
            self.arch = self.seccomp.machine()
            self.seccomp.install(self.seccomp.build_zygote_filter(self.arch))
            self.run_filter = self.seccomp.PreparedRunFilter(self.arch)
            self.report["seccomp"] = self.arch
        if self.cfg.get("landlock"):
            self.rules = self.landlock.PreparedRules(self.cfg["ro_paths"], place=_high_fd)
            self.keep_fds += self.rules.fds
        for module in (self.confine, self.landlock, self.seccomp):
            module._get_libc()  # resolved once here, not in every child
        self.tmp_mode = self._probe_tmp()
        self.baseline = self.confine.process_state()
        self.report.update(
            uid=os.getuid(), run_uid=self._uid(), tmp=self.tmp_mode, python=sys.version.split()[0],
            landlock={"abi": self.landlock.abi_version() if self.cfg.get("landlock") else 0},
        )
        gc.collect()
        if hasattr(gc, "freeze"):
            gc.freeze()  # keeps the GC from touching (and so copying) the zygote's pages in children

    def _uid(self) -> int:
        return self.run_uid if self.run_uid is not None else os.getuid()

    def _probe_tmp(self) -> str:
        """Whether a run can have a private tmpfs here (mount namespaces and CAP_SYS_ADMIN)."""
        tmp = self.cfg.get("tmp")
        if not tmp:
            return "none"
        pid = os.fork()
        if pid == 0:
            try:
                self.confine.private_tmp(tmp["path"], tmp["size"], tmp["inodes"], self._uid(), self._uid())
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        return "tmpfs" if status == 0 else "none"

    # --- serving -----------------------------------------------------------------------------------
    def serve(self) -> None:
        _send(self.sock, self.report)
        while True:
            msg, fds = self.reader.frame()
            if msg is None:
                os._exit(0)
            op = msg.get("op") if isinstance(msg, dict) else None
            if op == "spare" and len(fds) == 1 and self.spare is None:
                self._fork_spare(fds[0])
            elif op == "run" and len(fds) <= 1 and self.spare is not None:
                self._run(float(msg.get("timeout", 5.0)), fds[0] if fds else None)
            else:
                for fd in fds:
                    os.close(fd)
                _send(self.sock, {"t": "error", "msg": "bad request"})

    def _fork_spare(self, link_fd: int) -> None:
        pid = os.fork()
        if pid == 0:
            self.child(link_fd)
        os.close(link_fd)
        self.spare = pid

    def _run(self, timeout: float, next_link: Optional[int]) -> None:
        pid, self.spare = self.spare, None
        assert pid is not None
        t0 = time.monotonic()
        timed_out, status, cpu = self._wait(pid, t0 + timeout)
        self._kill_leftovers(pid)
        changed = self.confine.state_changes(self.baseline)
        _send(self.sock, {"t": "done", "status": status, "timed_out": timed_out, "cpu": cpu,
                          "wall": time.monotonic() - t0, "clean": not changed, "why": ", ".join(changed)})
        if changed:
            os._exit(0)  # not shown clean: never reused (the parent starts a fresh zygote)
        if next_link is not None:
            self._fork_spare(next_link)

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
        """Nothing a run started may outlive it (runs cannot create processes; this is the backstop)."""
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

    # --- the run child -----------------------------------------------------------------------------
    def child(self, link_fd: int) -> None:
        """Body of a run child: confine itself, wait for the request, run the harness, exit."""
        code = EXIT_CONFINE
        try:
            if not self.pid_ns:
                _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            os.setpgid(0, 0)
            os.dup2(self.devnull, 0)
            link_fd = _high_fd(link_fd)
            _close_all_but(sorted(self.keep_fds + [link_fd]))
            self._confine()
            code = self.harness.EXIT_INTERNAL
            # Warm-up: run a tiny program now, while idle, so the copy-on-write page faults of the
            # harness' code paths are paid before the request arrives rather than during it.
            try:
                self.harness.run(WARMUP_REQUEST, 0)
            except BaseException:
                pass
            link = socket.socket(fileno=link_fd)
            req, fds = _Reader(link).frame()
            link.close()  # one request per child: nothing more can arrive, nothing can be sent back
            if req is None or len(fds) != 2:
                code = 0
                return
            res_w, out_w = fds
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            os.dup2(res_w, RESULT_FD)
            for fd in (res_w, out_w):
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

    def _confine(self) -> None:
        """Everything between fork and the request: after this the child can reach nothing but its
        own fresh /tmp, its pipes and the read-only system and Python directories."""
        tmp = self.cfg.get("tmp") or {}
        writable: List[str] = []
        if self.tmp_mode == "tmpfs":
            self.confine.private_tmp(tmp["path"], tmp["size"], tmp["inodes"], self._uid(), self._uid())
            writable.append(tmp["path"])
        if self.rules is not None:
            self.rules.restrict(writable)
            for fd in self.rules.fds:
                os.close(fd)  # read-only handles the child needs no more
        if self.run_uid is not None and os.geteuid() == 0:
            self.confine.switch_uid(self.run_uid, self.run_uid)
        if writable:
            os.chdir(writable[0])  # as the run's uid: the tmpfs is its own, mode 0700
        self.confine.drop_caps()
        self.limits.apply(self.cfg.get("limits", {}))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # the parent closing a pipe ends the run
        if self.run_filter is not None:
            self.run_filter.install(os.getpid())


def _close_all_but(keep: List[int]) -> None:
    lo = 3
    for fd in keep + [1 << 20]:
        if fd >= lo:
            os.closerange(lo, min(fd, 65536))
            lo = fd + 1


def _remap_import_paths(remap: Dict[str, str]) -> None:
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

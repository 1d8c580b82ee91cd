"""Runs must not see each other: the findings of the isolation review, one test (or more) each.

Every test here runs at the ``full`` and the ``reduced`` tier (where the finding applies) on a
``pool_size=1`` sandbox, so "the next run" and "the previous run" share one zygote, the worst case.
The attacker programs are what a reward-hunting policy could write: they read memory, poison the
zygote, fill the temporary directory, forge result frames.
"""

from __future__ import annotations

import json
import os
import secrets
import struct
import threading
import time
from typing import List

import pytest

from tracefix.sandbox import Execution, RunStatus, Sandbox

from .conftest import prog


def steps(ex: Execution) -> list:
    return [s for t in ex.tests for s in t.steps]


def values(ex: Execution) -> list:
    return [s.value if s.ok else (s.error_type, s.error_message) for s in steps(ex)]


def zygote_pids(sb: Sandbox) -> List[int]:
    return [w.proc.pid for w in sb._pool._all if w.proc is not None]  # type: ignore[union-attr]


# --- 1. the previous request is not in memory -------------------------------------------------------

# The scanner looks for the prefix followed by 16 hex digits, so its own constant never matches.
SCANNER = r'''
import gc, sys, ctypes, os, time
PREFIX = "TF" + "LEAK-"
HEX = set("0123456789abcdef")

def _hits(text, found):
    i = text.find(PREFIX)
    while i >= 0:
        tail = text[i + len(PREFIX): i + len(PREFIX) + 16]
        if len(tail) == 16 and set(tail) <= HEX:
            found.add(PREFIX + tail)
        i = text.find(PREFIX, i + 1)

def _look(obj, found):
    if isinstance(obj, str):
        _hits(obj, found)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        _hits(bytes(obj).decode("latin-1"), found)

def object_scan():
    """Every object the collector knows, their members, and every frame's locals up the stack."""
    found = set()
    for obj in gc.get_objects():
        _look(obj, found)
        try:
            if isinstance(obj, dict):
                members = list(obj.keys()) + list(obj.values())
            elif isinstance(obj, (list, tuple, set, frozenset)):
                members = list(obj)
            elif hasattr(obj, "__dict__"):
                members = list(vars(obj).values())
            else:
                members = []
        except Exception:
            members = []
        for m in members:
            _look(m, found)
    frame = sys._getframe()
    while frame is not None:
        for v in list(frame.f_locals.values()):
            _look(v, found)
        frame = frame.f_back
    return sorted(found)

def raw_scan(budget_s=3.0, span=48 << 20):
    """Raw memory around the heap and the object arenas, read without faulting (write() to a pipe
    returns EFAULT for unmapped pages), so even freed, not yet overwritten memory is searched."""
    libc = ctypes.CDLL(None, use_errno=True)
    r, w = os.pipe()
    page = 4096
    found = set()
    anchors = {id(gc.get_objects()), id(sys.modules), ctypes.addressof(ctypes.create_string_buffer(1 << 20))}
    deadline = time.monotonic() + budget_s
    for anchor in anchors:
        base = (anchor & ~(page - 1)) - span
        for addr in range(max(base, page), base + 2 * span, page):
            if time.monotonic() > deadline:
                break
            n = libc.write(w, ctypes.c_void_p(addr), page)
            if n > 0:
                _hits(os.read(r, n).decode("latin-1"), found)
    os.close(r)
    os.close(w)
    return sorted(found)
'''


def marker() -> str:
    return "TFLEAK-" + secrets.token_hex(8)


def test_earlier_request_not_in_memory_of_later_runs(sb: Sandbox) -> None:
    """Finding 1: code and test expressions of an earlier run (another session's) are nowhere in a
    later run's memory: not in objects, frames, or raw memory."""
    code_secret, expr_secret = marker(), marker()
    victim = prog("FIX = %r\ndef f():\n    return 1\n" % code_secret, ("eval", "f() + 0 * len(%r)" % expr_secret))
    assert sb.execute(victim).status == RunStatus.OK
    ex = sb.execute(prog(SCANNER, ("eval", "object_scan()"), ("eval", "raw_scan()"), timeout=10.0))
    assert ex.status == RunStatus.OK, (ex.detail, ex.output[-500:])
    found = [v for s in steps(ex) for v in s.value]
    assert code_secret not in found and expr_secret not in found, found


def test_hidden_expressions_of_a_submit_not_in_the_next_run(sb: Sandbox) -> None:
    """Finding 1 (hidden tests): a run that carried hidden test expressions leaves none behind."""
    hidden = marker()
    sb.execute(prog("def g(x):\n    return x\n", tests=[("visible", [("eval", "g(1)")]),
                                                      ("hidden", [("eval", "g(len(%r))" % hidden)])]))
    ex = sb.execute(prog(SCANNER, ("eval", "object_scan()"), timeout=10.0))
    assert ex.status == RunStatus.OK, ex.detail
    assert hidden not in steps(ex)[0].value


# --- 4. and 10. the zygote cannot be poisoned --------------------------------------------------------

POISON = r'''
import ctypes, os, platform, resource
libc = ctypes.CDLL(None, use_errno=True)
IOPRIO_SET = {"x86_64": 251, "aarch64": 30}[platform.machine()]

class RLimit(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_uint64), ("max", ctypes.c_uint64)]

def attempt(call):
    ctypes.set_errno(0)
    r = call()
    return 0 if r == 0 else ctypes.get_errno()

def poison(target):
    lim = RLimit(11, 11)
    mask = ctypes.c_uint64(1)
    param = ctypes.c_int(0)
    return {
        "prlimit64": attempt(lambda: libc.prlimit(target, resource.RLIMIT_NOFILE, ctypes.byref(lim), None)),
        "setpriority": attempt(lambda: libc.setpriority(0, target, 19)),
        "setpriority_user": attempt(lambda: libc.setpriority(2, 0, 19)),
        "sched_setaffinity": attempt(lambda: libc.sched_setaffinity(target, 8, ctypes.byref(mask))),
        "sched_setscheduler": attempt(lambda: libc.sched_setscheduler(target, 5, ctypes.byref(param))),
        "ioprio_set": attempt(lambda: libc.syscall(IOPRIO_SET, 1, target, (3 << 13) | 7)),
    }

def health():
    return [resource.getrlimit(resource.RLIMIT_NOFILE)[0], os.getpriority(os.PRIO_PROCESS, 0),
            len(os.sched_getaffinity(0)), os.sched_getscheduler(0)]
'''


def test_run_cannot_poison_its_zygote(sb: Sandbox) -> None:
    """Finding 4: re-limiting, re-prioritising or pinning the zygote (the parent of every run) is
    refused, and the next run of every session starts with the configured limits."""
    before = zygote_pids(sb)
    healthy = sb.execute(prog(POISON, ("eval", "health()")))
    assert healthy.status == RunStatus.OK, healthy.detail
    ex = sb.execute(prog(POISON, ("eval", "poison(os.getppid())"), ("eval", "poison(1)")))
    assert ex.status == RunStatus.OK, ex.detail
    for result in (s.value for s in steps(ex)):
        assert set(result.values()) == {1}, result  # every attempt: EPERM
    after = sb.execute(prog(POISON, ("eval", "health()")))
    assert after.status == RunStatus.OK and values(after) == values(healthy)
    assert zygote_pids(sb) == before


def test_run_cannot_poison_another_sessions_zygote(sandbox_factory, tier: str) -> None:
    """Finding 10: with two zygotes (two sessions' runs), a run cannot re-limit the other one."""
    two = sandbox_factory(tier=tier, pool_size=2)
    two.warm()
    workers = two._pool._all  # type: ignore[union-attr]
    targets = sorted(_zygote_host_pids(two))
    assert len(targets) == 2
    # Whichever worker serves the attack, the other zygote is the target (in its own pid namespace
    # at the full tier, so the pid does not even exist there: still refused, never honoured).
    ex = two.execute(prog(POISON, *[("eval", "poison(%d)" % pid) for pid in targets]))
    assert ex.status == RunStatus.OK, ex.detail
    for result in (s.value for s in steps(ex)):
        assert set(result.values()) <= {1, 3}, result  # EPERM (or ESRCH where the pid is invisible)
    for pid in targets:
        assert os.getpriority(os.PRIO_PROCESS, pid) == 0
        assert _open_files_limit(pid) != 11
    assert len(workers) == 2


def _open_files_limit(pid: int) -> int:
    for line in open("/proc/%d/limits" % pid):
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-files line")


def _zygote_host_pids(sb: Sandbox) -> List[int]:
    """Host pids of the zygote interpreters (bwrap's child at the full tier)."""
    out = []
    for w in sb._pool._all:  # type: ignore[union-attr]
        pid = w.proc.pid
        if sb.tier == "full":
            kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
            pid = int(kids[0])
        out.append(pid)
    return out


# --- 5. and 6. a fresh, bounded temporary directory per run ------------------------------------------

FILL = r'''
import os
def deep(n):
    base = os.getcwd()
    for i in range(n):
        os.mkdir("d")
        os.chdir("d")
    os.chdir(base)
    return n

def fill_bytes():
    written = 0
    try:
        with open("big", "wb") as f:
            while True:
                f.write(b"x" * (1 << 20))
                written += 1
    except OSError as e:
        return [written, e.errno]

def many_inodes(limit):
    n = 0
    try:
        while n < limit:
            os.mkdir("i%d" % n)
            n += 1
    except OSError as e:
        return [n, e.errno]
    return [n, 0]

def listing():
    return sorted(os.listdir("."))

def can_write():
    with open("probe", "wb") as f:
        f.write(b"y" * (1 << 20))
    return os.path.getsize("probe")
'''


def test_tmp_is_fresh_and_bounded_every_run(sb: Sandbox) -> None:
    """Findings 5, 6 and 10: a deep tree, a full disk and an inode flood leave nothing for the next
    run, which starts in an empty, writable directory; bytes and inodes are capped per run."""
    if sb.info()["tmp"] != "tmpfs":
        pytest.skip("this host gives runs no writable directory (no private tmpfs): nothing to fill")
    ex = sb.execute(prog(FILL, ("eval", "deep(1000)"), ("eval", "fill_bytes()"), ("eval", "many_inodes(200000)"),
                         timeout=10.0))
    assert ex.status == RunStatus.OK, (ex.detail, values(ex))
    assert values(ex)[0] == 1000
    megabytes, errno_bytes = values(ex)[1]
    assert errno_bytes in (27, 28) and megabytes <= sb.config.tmpfs_mb  # EFBIG (file cap) or ENOSPC
    inodes, errno_inodes = values(ex)[2]
    assert errno_inodes == 28 and inodes <= sb.config.tmpfs_inodes
    nxt = sb.execute(prog(FILL, ("eval", "listing()"), ("eval", "can_write()")))
    assert nxt.status == RunStatus.OK, nxt.detail
    assert values(nxt) == [[], 1 << 20]


def test_deep_tree_never_breaks_the_worker(sb: Sandbox) -> None:
    """Finding 10: after a run leaves a 1000-deep tree, stopping and restarting the worker works."""
    if sb.info()["tmp"] != "tmpfs":
        pytest.skip("this host gives runs no writable directory")
    assert sb.execute(prog(FILL, ("eval", "deep(1000)"))).status == RunStatus.OK
    worker = sb._pool._all[0]  # type: ignore[union-attr]
    worker.stop()
    ex = sb.execute(prog(FILL, ("eval", "listing()")))
    assert ex.status == RunStatus.OK and values(ex) == [[]]


# --- 7. memory outside the limits ----------------------------------------------------------------------

IPC = r'''
import ctypes, os, platform
libc = ctypes.CDLL(None, use_errno=True)
MQ_OPEN = {"x86_64": 240, "aarch64": 180}[platform.machine()]
def shm(size):
    ctypes.set_errno(0)
    shmid = libc.shmget(0x7F1A, ctypes.c_size_t(size), 0o1666)  # IPC_CREAT | 0666
    return [shmid, ctypes.get_errno()]
def msg():
    ctypes.set_errno(0)
    return [libc.msgget(0x7F1B, 0o1666), ctypes.get_errno()]
def sem():
    ctypes.set_errno(0)
    return [libc.semget(0x7F1C, 1, 0o1666), ctypes.get_errno()]
def mq():
    ctypes.set_errno(0)
    return [libc.syscall(MQ_OPEN, b"/tracefix", 0o100 | 2, 0o600, None), ctypes.get_errno()]
def memfd():
    fd = os.memfd_create("x")
    os.ftruncate(fd, 1 << 30)
    return fd
'''


def test_no_shared_memory_outside_the_limits(sb: Sandbox) -> None:
    """Finding 7: SysV shared memory, message queues, semaphores, POSIX queues and memfd are refused,
    so nothing outlives a run or escapes its address-space limit."""
    ex = sb.execute(prog(IPC, ("eval", "shm(1 << 30)"), ("eval", "msg()"), ("eval", "sem()"), ("eval", "mq()"),
                         ("eval", "memfd()")))
    assert ex.status == RunStatus.OK, ex.detail
    assert values(ex)[:4] == [[-1, 1]] * 4
    assert values(ex)[4][0] == "PermissionError"
    for kind in ("shm", "msg", "sem"):
        rows = open("/proc/sysvipc/%s" % kind).read().splitlines()[1:]
        assert not any(line.split()[0] in ("32538", "32539", "32540") for line in rows), rows


# --- 8. a fair pool with back-pressure -----------------------------------------------------------------


def test_pool_serves_first_come_first_served(sandbox_factory, tier: str) -> None:
    """Finding 8: with one worker busy, waiting callers are served in arrival order."""
    one = sandbox_factory(tier=tier, pool_size=1, max_wait_s=30.0)
    one.warm()
    order: List[int] = []
    lock = threading.Lock()

    def run(i: int, code: str) -> None:
        ex = one.execute(prog(code, ("eval", "1"), timeout=5.0))
        assert ex.status == RunStatus.OK, ex.detail
        with lock:
            order.append(i)

    holder = threading.Thread(target=run, args=(0, "import time\ntime.sleep(0.8)\n"))
    holder.start()
    time.sleep(0.3)
    waiters = []
    for i in range(1, 6):
        t = threading.Thread(target=run, args=(i, ""))
        t.start()
        waiters.append(t)
        time.sleep(0.05)
    holder.join()
    for t in waiters:
        t.join()
    assert order == [0, 1, 2, 3, 4, 5]


def test_pool_wait_is_bounded_with_a_clear_error(sandbox_factory, tier: str) -> None:
    """Finding 8: past the configured wait a caller gets BUSY with a reason, not a silent stall."""
    one = sandbox_factory(tier=tier, pool_size=1, max_wait_s=0.3)
    one.warm()
    holder = threading.Thread(target=one.execute, args=(prog("import time\ntime.sleep(1.5)\n", timeout=3.0),))
    holder.start()
    time.sleep(0.3)
    started = time.monotonic()
    ex = one.execute(prog("", ("eval", "1")))
    waited = time.monotonic() - started
    holder.join()
    assert ex.status == RunStatus.BUSY, (ex.status, ex.detail)
    assert "busy" in ex.detail and "0.3" in ex.detail
    assert waited < 1.2  # it gave up at its limit rather than waiting for the holder
    assert one.execute(prog("", ("eval", "2"))).status == RunStatus.OK


# --- 9. frame flood ----------------------------------------------------------------------------------


def test_result_frame_flood_costs_the_server_little(sb: Sandbox) -> None:
    """Finding 9: a flood of (valid) result frames is cut off after the expected number."""
    frame = json.dumps({"t": "step", "ok": True, "v": 1}).encode()
    code = ("import os\ndef flood():\n    blob = %r * 4096\n    for _ in range(400):\n        os.write(3, blob)\n"
            % (struct.pack(">I", len(frame)) + frame))
    cpu = time.thread_time()
    ex = sb.execute(prog(code, ("exec", "flood()"), ("eval", "1"), timeout=10.0))
    spent = time.thread_time() - cpu
    assert ex.status in (RunStatus.CRASHED, RunStatus.OUTPUT_LIMIT), ex.status
    assert "frames" in ex.detail or "limit" in ex.detail, ex.detail
    assert not any(s.ok for s in steps(ex)[1:])
    assert spent < 0.5, spent  # 1.6 M frames sent; the parent stops parsing after a handful


# --- 11. OSError and its aliases ----------------------------------------------------------------------


def test_oserror_aliases_are_reported_under_their_real_name(sb: Sandbox) -> None:
    """Finding 11: FileNotFoundError's built-in bases are OSError (and its aliases), so a step that
    expects OSError accepts it."""
    ex = sb.execute(prog("", ("eval", "open('/nonexistent/x')")))
    (step,) = steps(ex)
    assert step.error_type in ("FileNotFoundError", "PermissionError")
    assert "OSError" in step.error_bases
    assert {"IOError", "EnvironmentError"} <= set(step.error_bases)


# --- 12. nothing of the host --------------------------------------------------------------------------

HOST = r'''
import gc, os, sys
def bootstrap_left():
    main = sys.modules.get("__main__")
    return sorted(k for k in vars(main) if not k.startswith("__")) if main else []
def host_strings(reversed_needles):
    """Strings anywhere in reach that name a host directory (the project, a host temp dir); the
    needles arrive reversed so that this run's own request does not contain them."""
    needles = [n[::-1] for n in reversed_needles]
    hits = set()
    def look(v):
        if isinstance(v, str):
            for n in needles:
                if n in v and v != n:
                    hits.add(v[:200])
    for o in gc.get_objects():
        look(o)
        if isinstance(o, dict):
            for v in list(o.values()):
                look(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                look(v)
    return sorted(hits)
def ints_seen(target):
    for o in gc.get_objects():
        if isinstance(o, dict):
            for v in list(o.values()):
                if v == target and type(v) is int:
                    return True
    return False
'''


def test_no_host_pid_or_path_inside_a_run(sb: Sandbox) -> None:
    """Finding 12: the bootstrap data is gone, no config carries the server's pid or host paths, and
    the run works in /tmp, not in a host directory."""
    needles = [os.getcwd()[::-1], "tracefix-sbx"[::-1]]
    ex = sb.execute(prog(HOST, ("eval", "bootstrap_left()"), ("eval", "host_strings(%r)" % needles),
                         ("eval", "ints_seen(%d)" % os.getpid()), ("eval", "os.getcwd()")))
    assert ex.status == RunStatus.OK, ex.detail
    left, paths, pid_seen, cwd = values(ex)
    assert left == [] and paths == [] and pid_seen is False
    assert cwd in ("/tmp", "/")


# --- 13. results are bound to their steps --------------------------------------------------------------


def _frame(obj: dict) -> bytes:
    data = json.dumps(obj).encode()
    return struct.pack(">I", len(data)) + data


def test_an_extra_frame_cannot_shift_results_onto_later_steps(sb: Sandbox) -> None:
    """Finding 13: one forged frame during test 1 must not make a step that raises count as passed."""
    forged = _frame({"t": "step", "ok": True, "v": 1})
    code = "import os\ndef f():\n    os.write(3, %r)\n    return 1\n" % forged
    ex = sb.execute(prog(code, tests=[("t1", [("eval", "f()")]), ("t2", [("exec", "x = 1 / 0"), ("eval", "2")])]))
    outcome = {t.name: t.steps for t in ex.tests}
    t2 = outcome.get("t2", [])
    assert not (t2 and t2[0].ok), "a step that raised was graded from a forged frame"
    assert ex.status != RunStatus.OK


def test_forged_results_for_steps_that_never_ran(sb: Sandbox) -> None:
    """Finding 13: reading the request, writing a frame per step plus 'end' and exiting does not
    make a step that never ran (one that would raise NameError) report a value."""
    code = (
        "import os, sys, json, struct\n"
        "def _emit(obj):\n    data = json.dumps(obj).encode()\n    os.write(3, struct.pack('>I', len(data)) + data)\n"
        "def hijack():\n"
        "    for _ in range(3):\n        _emit({'t': 'step', 'ok': True, 'v': 42})\n"
        "    _emit({'t': 'end'})\n    os._exit(0)\n"
    )
    ex = sb.execute(prog(code, ("eval", "hijack()"), ("eval", "undefined_name"), ("eval", "undefined_name")))
    assert not any(s.ok and s.value == 42 for s in steps(ex)), values(ex)
    assert ex.status == RunStatus.CRASHED


@pytest.fixture(scope="module", params=["full", "reduced"])
def tier(request: pytest.FixtureRequest) -> str:
    from tracefix.sandbox import capabilities

    info = capabilities()["tiers"][request.param]
    if not info["available"]:
        pytest.skip("tier %r unavailable on this host: %s" % (request.param, info["detail"]))
    return request.param


SIGNAL_ROUTES = r'''
import ctypes, fcntl, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def routes(target):
    out = {}
    r, w = os.pipe()
    for name, cmd, arg in (("F_SETOWN", 8, target), ("F_SETSIG", 10, 9), ("F_SETOWN_EX", 15, 0)):
        ctypes.set_errno(0)
        out[name] = 0 if libc.fcntl(r, cmd, arg) == 0 else ctypes.get_errno()
    a, b = socket.socketpair()
    pid = ctypes.c_int(target)
    ctypes.set_errno(0)
    out["FIOSETOWN"] = 0 if libc.ioctl(a.fileno(), 0x8901, ctypes.byref(pid)) == 0 else ctypes.get_errno()
    ctypes.set_errno(0)
    out["flock"] = 0 if libc.flock(r, 2) == 0 else ctypes.get_errno()
    return out
'''


def test_no_signal_route_to_other_processes(sb: Sandbox) -> None:
    """Finding 10: on kernels without Landlock's signal scope, F_SETOWN + F_SETSIG (or FIOSETOWN)
    would let a run have the kernel SIGKILL another run; every such route is refused."""
    ex = sb.execute(prog(SIGNAL_ROUTES, ("eval", "routes(os.getppid())"), ("eval", "routes(1)")))
    assert ex.status == RunStatus.OK, ex.detail
    for result in (s.value for s in steps(ex)):
        assert result == {"F_SETOWN": 1, "F_SETSIG": 1, "F_SETOWN_EX": 1, "FIOSETOWN": 1, "flock": 1}, result


def test_reduced_tier_runs_have_their_own_uid_per_zygote(sandbox_factory) -> None:
    """Finding 10: at the reduced tier every zygote's runs have a uid of their own, which neither
    the zygote nor any other zygote's runs have."""
    if not capabilities_allow("reduced") or os.geteuid() != 0:
        pytest.skip("the reduced tier with per-zygote uids needs the tier and root")
    a = sandbox_factory(tier="reduced", pool_size=2)
    b = sandbox_factory(tier="reduced", pool_size=1)
    a.warm()
    b.warm()
    infos = a.info()["workers"] + b.info()["workers"]
    run_uids = [w["run_uid"] for w in infos]
    assert len(set(run_uids)) == 3 and all(w["uid"] == 0 for w in infos) and 0 not in run_uids
    seen = {s.value for s in steps(b.execute(prog("import os", ("eval", "os.getuid()"))))}
    assert seen == {infos[2]["run_uid"]}


def capabilities_allow(tier: str) -> bool:
    from tracefix.sandbox import capabilities

    return bool(capabilities()["tiers"][tier]["available"])

"""Per-run confinement steps and the zygote's health check (raw syscalls through ctypes).

Self-contained and stdlib-only: this source is sent into the zygote (the sandbox never mounts the
project) and executed there as a plain module.

A run child, forked from the zygote before its request exists, calls these in order before any
candidate code: :func:`private_tmp` (a fresh tmpfs on ``/tmp`` with byte *and* inode limits, in a
mount namespace of its own, so nothing a run writes can outlive it and nothing needs cleaning up),
then Landlock, :func:`switch_uid` (reduced tier: a uid the zygote does not have), :func:`drop_caps`,
rlimits and seccomp.  The zygote keeps a :func:`process_state` snapshot taken at start and compares
it after every run: a zygote whose limits, priority, affinity, scheduler or I/O priority changed is
not shown clean and is replaced, never reused.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
from typing import Dict, Iterable, List, Optional

CLONE_NEWNS = 0x00020000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 0x40000
TMPFS_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC
PRIVATE_FLAGS = MS_REC | MS_PRIVATE

PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
CAP_KILL = 5
CAP_SETGID = 6
CAP_SETUID = 7
CAP_SYS_ADMIN = 21
CAP_LAST = 63

IOPRIO_WHO_PROCESS = 1
_IOPRIO_GET = {"x86_64": 252, "aarch64": 31}

_libc = None


def _get_libc():
    # This module is sent to the zygote on its own (see zygote.py), so it carries its own loader.
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def private_tmp(path: str, size_bytes: int, inodes: int, uid: int, gid: int) -> None:
    """Give the calling process a mount namespace of its own with an empty tmpfs on ``path``.

    Mount events of the new namespace are made private first, so nothing propagates back to the
    zygote's (or the host's) namespace.  The tmpfs dies with the last process of the run.
    """
    libc = _get_libc()
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(None, b"/", None, ctypes.c_ulong(PRIVATE_FLAGS), None), "mount(/, MS_REC|MS_PRIVATE)")
    options = "size=%d,nr_inodes=%d,mode=0700,uid=%d,gid=%d" % (size_bytes, inodes, uid, gid)
    _check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", ctypes.c_ulong(TMPFS_FLAGS), options.encode()),
           "mount(tmpfs on %s)" % path)


def set_dumpable(flag: bool) -> None:
    """A non-dumpable process cannot be ptraced or read through /proc by an unprivileged peer."""
    _check(_get_libc().prctl(PR_SET_DUMPABLE, int(flag), 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _capset(keep: Iterable[int]) -> None:
    mask = 0
    for cap in keep:
        mask |= 1 << cap
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in range(2):
        word = (mask >> (32 * i)) & 0xFFFFFFFF
        data[i].effective = data[i].permitted = word
        data[i].inheritable = 0
    _check(_get_libc().capset(ctypes.byref(header), data), "capset")


_NO_CAPS = (_CapHeader(LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)())
"""Built at import (in the zygote), so a run child only makes the two system calls."""


def drop_caps() -> None:
    """Drop every capability (ambient, effective, permitted, inheritable) of the calling process."""
    libc = _get_libc()
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL on old kernels: nothing to clear
    header, data = _NO_CAPS
    header.version, header.pid = LINUX_CAPABILITY_VERSION_3, 0  # the kernel may rewrite the version
    _check(libc.capset(ctypes.byref(header), data), "capset")


def keep_only_caps(keep: List[int]) -> None:
    """Shrink the bounding set and the effective/permitted sets to ``keep`` (the zygote as root)."""
    libc = _get_libc()
    for cap in range(CAP_LAST + 1):
        if cap not in keep:
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the kernel's last cap: fine
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    _capset(keep)


def switch_uid(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` for good (real, effective and saved ids; no supplementary groups)."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise OSError("uid switch did not take effect")


def _ioprio() -> int:
    nr = _IOPRIO_GET.get(platform.machine().lower())
    if nr is None:
        return -1
    return int(_get_libc().syscall(nr, IOPRIO_WHO_PROCESS, 0))


def process_state() -> Dict[str, object]:
    """What another process with this uid could change about this one, as comparable values."""
    limits = {}
    for name in dir(resource):
        if name.startswith("RLIMIT_"):
            try:
                limits[name] = list(resource.getrlimit(getattr(resource, name)))
            except (ValueError, OSError):
                pass
    state: Dict[str, object] = {"rlimits": limits, "nice": os.getpriority(os.PRIO_PROCESS, 0), "ioprio": _ioprio()}
    try:
        state["affinity"] = sorted(os.sched_getaffinity(0))
        state["scheduler"] = os.sched_getscheduler(0)
        state["sched_priority"] = os.sched_getparam(0).sched_priority
    except (AttributeError, OSError):
        pass
    return state


def state_changes(baseline: Dict[str, object], now: Optional[Dict[str, object]] = None) -> List[str]:
    """Names of the parts of :func:`process_state` that differ from ``baseline``."""
    now = process_state() if now is None else now
    changed = []
    for key, value in baseline.items():
        if key == "rlimits":
            assert isinstance(value, dict)
            current = now.get("rlimits") or {}
            assert isinstance(current, dict)
            changed += sorted(name for name in value if current.get(name) != value[name])
        elif now.get(key) != value:
            changed.append(key)
    return changed

"""Landlock (unprivileged filesystem / network / signal confinement) through raw syscalls via ctypes.

Self-contained and stdlib-only: this source is sent into the zygote and executed there.

Each run child restricts itself, after its private tmpfs is mounted and before any candidate code,
to: read-only access beneath the Python installation and the system library directories,
read-write access beneath its own ``/tmp`` (when it has one), read/write on ``/dev/null`` and read
on the random devices.  Everything else on the filesystem (``/etc/passwd``, ``/proc``, the project
tree, ``/home``) is refused with ``EACCES``.  On ABI >= 4 TCP bind/connect are refused too; on ABI >= 6
the domain is *scoped*: abstract unix sockets and signals cannot reach processes outside it, so a
run cannot signal its zygote or another run (each run has a domain of its own).

Why per run and not once in the zygote: a Landlock domain forbids mounting, and a rule on ``/tmp``
would not cover a tmpfs mounted over it later (rules on covered mount points are ignored).

Older kernels just get what their ABI supports (reported, not fatal): Landlock is one layer among
seccomp, namespaces and rlimits.
"""

from __future__ import annotations

import ctypes
import os
import platform
from typing import Callable, Dict, Iterable, List, Optional, Tuple

SYS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}  # create_ruleset, add_rule, restrict_self
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
READ_ONLY = FS_READ_FILE | FS_READ_DIR


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = None


def _get_libc():
    # This module is sent to the zygote on its own (see zygote.py), so it carries its own loader.
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def _nrs() -> Optional[Tuple[int, int, int]]:
    m = platform.machine().lower()
    if m in ("x86_64", "amd64"):
        return SYS["x86_64"]
    if m in ("aarch64", "arm64"):
        return SYS["aarch64"]
    return None


def abi_version() -> int:
    """Landlock ABI of the running kernel (0: unavailable or disabled)."""
    nrs = _nrs()
    if nrs is None:
        return 0
    try:
        r = _get_libc().syscall(nrs[0], None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    except Exception:
        return 0
    return int(r) if r > 0 else 0


def fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def _create(abi: int, fs: int, net: int, scoped: int) -> int:
    nrs = _nrs()
    assert nrs is not None
    attr = _RulesetAttr(fs, net, scoped)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    fd = _get_libc().syscall(nrs[0], ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, "landlock_create_ruleset: " + os.strerror(e))
    return int(fd)


def _restrict(ruleset_fd: int) -> None:
    nrs = _nrs()
    assert nrs is not None
    r = _get_libc().syscall(nrs[2], ctypes.c_int(ruleset_fd), ctypes.c_uint32(0))
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, "landlock_restrict_self: " + os.strerror(e))


def _add_path(ruleset_fd: int, path: str, access: int, handled: int) -> bool:
    """Allow ``access`` beneath ``path``; returns False (and adds nothing) when it does not exist."""
    nrs = _nrs()
    assert nrs is not None
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not os.path.isdir(path):
            access &= FILE_RIGHTS
        attr = _PathBeneathAttr(access & handled, fd)
        r = _get_libc().syscall(nrs[1], ctypes.c_int(ruleset_fd), ctypes.c_int(RULE_PATH_BENEATH),
                                ctypes.byref(attr), ctypes.c_uint32(0))
        if r != 0:
            e = ctypes.get_errno()
            raise OSError(e, "landlock_add_rule(%s): %s" % (path, os.strerror(e)))
        return True
    finally:
        os.close(fd)


def _add_fd(ruleset_fd: int, path_fd: int, access: int) -> None:
    nrs = _nrs()
    assert nrs is not None
    attr = _PathBeneathAttr(access, path_fd)
    r = _get_libc().syscall(nrs[1], ctypes.c_int(ruleset_fd), ctypes.c_int(RULE_PATH_BENEATH),
                            ctypes.byref(attr), ctypes.c_uint32(0))
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, "landlock_add_rule: " + os.strerror(e))


class PreparedRules:
    """The read-only rules, opened once (in the zygote) as O_PATH handles; each run child builds its
    own domain from them plus its own writable /tmp (see :meth:`restrict`).  Same rules as
    :func:`restrict`, without reopening a dozen paths in every child."""

    def __init__(self, read_only: Iterable[str],
                 files_rw: Iterable[str] = ("/dev/null",),
                 files_ro: Iterable[str] = ("/dev/urandom", "/dev/random", "/dev/zero"),
                 place: Callable[[int], int] = lambda fd: fd) -> None:
        """``place`` moves each handle where the caller wants it (the zygote keeps them at fds >= 10)."""
        self.abi = abi_version()
        self.entries: List[Tuple[int, int]] = []
        if self.abi <= 0:
            return
        self.handled = fs_rights(self.abi)
        wanted = [(p, READ_ONLY) for p in read_only]
        wanted += [(p, FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE) for p in files_rw]
        wanted += [(p, FS_READ_FILE) for p in files_ro]
        for path, access in wanted:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            if not os.path.isdir(path):
                access &= FILE_RIGHTS
            self.entries.append((place(fd), access & self.handled))

    @property
    def fds(self) -> List[int]:
        return [fd for fd, _ in self.entries]

    def restrict(self, read_write: Iterable[str]) -> Dict[str, object]:
        """Confine the calling process: the prepared rules, plus full access beneath ``read_write``."""
        if self.abi <= 0:
            return {"abi": 0}
        net = (NET_BIND_TCP | NET_CONNECT_TCP) if self.abi >= 4 else 0
        scoped = (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if self.abi >= 6 else 0
        fd = _create(self.abi, self.handled, net, scoped)
        try:
            for path_fd, access in self.entries:
                _add_fd(fd, path_fd, access)
            rw = [p for p in read_write if _add_path(fd, p, self.handled, self.handled)]
            _restrict(fd)
        finally:
            os.close(fd)
        return {"abi": self.abi, "read_write": rw, "net": bool(net), "scoped": bool(scoped)}


def restrict(read_only: Iterable[str], read_write: Iterable[str],
             files_rw: Iterable[str] = ("/dev/null",),
             files_ro: Iterable[str] = ("/dev/urandom", "/dev/random", "/dev/zero")) -> Dict[str, object]:
    """Confine the calling process (and its future children).  Returns what was applied.

    The caller must already have set ``no_new_privs``.  When Landlock is missing this is a no-op
    reporting ``{"abi": 0}``.
    """
    abi = abi_version()
    if abi <= 0:
        return {"abi": 0}
    handled = fs_rights(abi)
    net = (NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0
    scoped = (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0
    fd = _create(abi, handled, net, scoped)
    try:
        ro = [p for p in read_only if _add_path(fd, p, READ_ONLY, handled)]
        rw = [p for p in read_write if _add_path(fd, p, handled, handled)]
        for p in files_rw:
            _add_path(fd, p, FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE, handled)
        for p in files_ro:
            _add_path(fd, p, FS_READ_FILE, handled)
        _restrict(fd)
    finally:
        os.close(fd)
    return {"abi": abi, "read_only": ro, "read_write": rw, "net": bool(net), "scoped": bool(scoped)}

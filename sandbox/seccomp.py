"""A small seccomp-BPF filter, assembled by hand and installed with ``prctl`` through ctypes.

Why by hand: libseccomp is not guaranteed to be installed (slim Docker images), and the rules we need
fit in ~150 classic-BPF instructions.  This module is **self-contained and stdlib-only**: its source is
sent into the zygote (the sandbox never mounts the project directory), where it is executed as a
plain module.

Two filters are stacked:

* the **zygote filter** (``build_zygote_filter``), installed once in every zygote after Python has
  started and pre-imported its modules.  It applies to the zygote and all runs: no ``execve``, no
  namespaces but a private mount namespace (for a run's fresh tmpfs), only the two mount calls
  that sets up, no non-``AF_UNIX`` sockets, no ptrace/bpf/io_uring/keyrings/perf/kexec/modules, no
  ``TIOCSTI``.
* the **run filter** (``build_run_filter``), installed in each forked run child right before the
  candidate code runs (it knows the child's own pid).  It forbids everything by which a run could
  reach another process or outlive itself: creating processes (threads are fine), signalling any
  process but itself (also through ``F_SETOWN``/``F_SETSIG``), changing another process's limits,
  priority, affinity, scheduler or I/O priority (the zygote's, above all), SysV IPC, POSIX message
  queues, ``memfd``, file locks and inotify (both are channels to concurrent runs), mounts and
  namespaces, and connecting/sending to addresses.

Denied calls return ``EPERM`` (``ENOSYS`` for ``clone3`` so glibc falls back to ``clone``, whose flags
*can* be inspected); a foreign architecture or the x32 ABI kills the process.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
from typing import Dict, List, Optional, Sequence, Tuple

# --- constants -----------------------------------------------------------------------------------
PR_SET_NO_NEW_PRIVS = 38
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

RET_KILL_PROCESS = 0x80000000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

# classic BPF opcodes
LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
JSET_K = 0x45
RET_K = 0x06

OFF_NR = 0
OFF_ARCH = 4

AF_UNIX = 1
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
CLONE_THREAD = 0x00010000
CLONE_NS_FLAGS = (
    0x00020000  # NEWNS
    | 0x02000000  # NEWCGROUP
    | 0x04000000  # NEWUTS
    | 0x08000000  # NEWIPC
    | 0x10000000  # NEWUSER
    | 0x20000000  # NEWPID
    | 0x40000000  # NEWNET
)
X32_SYSCALL_BIT = 0x40000000
CLONE_NEWNS = 0x00020000
MS_PRIVATE_REC = 0x40000 | 0x4000
MS_TMPFS = 0x2 | 0x4 | 0x8  # nosuid, nodev, noexec

# Syscall numbers (from the kernel's unistd_64.h and asm-generic/unistd.h).  None: absent on that arch.
_NR: Dict[str, Tuple[Optional[int], Optional[int]]] = {
    # name: (x86_64, aarch64)
    "ioctl": (16, 29),
    "socket": (41, 198),
    "connect": (42, 203),
    "sendto": (44, 206),
    "sendmsg": (46, 211),
    "sendmmsg": (307, 269),
    "bind": (49, 200),
    "clone": (56, 220),
    "fork": (57, None),
    "vfork": (58, None),
    "execve": (59, 221),
    "execveat": (322, 281),
    "kill": (62, 129),
    "tkill": (200, 130),
    "tgkill": (234, 131),
    "rt_sigqueueinfo": (129, 138),
    "rt_tgsigqueueinfo": (297, 240),
    "ptrace": (101, 117),
    "syslog": (103, 116),
    "uselib": (134, None),
    "iopl": (172, None),
    "ioperm": (173, None),
    "chroot": (161, 51),
    "acct": (163, 89),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "reboot": (169, 142),
    "sethostname": (170, 161),
    "setdomainname": (171, 162),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "quotactl": (179, 60),
    "nfsservctl": (180, 42),
    "lookup_dcookie": (212, 18),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "keyctl": (250, 219),
    "unshare": (272, 97),
    "setns": (308, 268),
    "perf_event_open": (298, 241),
    "fanotify_init": (300, 262),
    "name_to_handle_at": (303, 264),
    "open_by_handle_at": (304, 265),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "kcmp": (312, 272),
    "bpf": (321, 280),
    "userfaultfd": (323, 282),
    "vhangup": (153, 58),
    "pidfd_send_signal": (424, 424),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "pidfd_open": (434, 434),
    "clone3": (435, 435),
    "pidfd_getfd": (438, 438),
    "mount_setattr": (442, 442),
    "fcntl": (72, 25),
    "flock": (73, 32),
    "setpgid": (109, 154),
    "setpriority": (141, 140),
    "sched_setparam": (142, 118),
    "sched_setscheduler": (144, 119),
    "sched_setaffinity": (203, 122),
    "sched_setattr": (314, 274),
    "ioprio_set": (251, 30),
    "prlimit64": (302, 261),
    "shmget": (29, 194),
    "shmat": (30, 196),
    "shmctl": (31, 195),
    "shmdt": (67, 197),
    "semget": (64, 190),
    "semop": (65, 193),
    "semctl": (66, 191),
    "semtimedop": (220, 192),
    "msgget": (68, 186),
    "msgsnd": (69, 189),
    "msgrcv": (70, 188),
    "msgctl": (71, 187),
    "mq_open": (240, 180),
    "mq_unlink": (241, 181),
    "mq_timedsend": (242, 182),
    "mq_timedreceive": (243, 183),
    "mq_notify": (244, 184),
    "mq_getsetattr": (245, 185),
    "memfd_create": (319, 279),
    "memfd_secret": (447, 447),
    "inotify_init": (253, None),
    "inotify_init1": (294, 26),
    "inotify_add_watch": (254, 27),
    "fanotify_mark": (301, 263),
    "migrate_pages": (256, 238),
    "move_pages": (279, 239),
    "process_madvise": (440, 440),
    "process_mrelease": (448, 448),
}

#: Denied outright (EPERM) in every sandboxed process.
ZYGOTE_DENY = (
    "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "setns", "bpf", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key", "perf_event_open",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "syslog", "acct", "quotactl", "nfsservctl", "lookup_dcookie", "uselib",
    "iopl", "ioperm", "sethostname", "setdomainname", "userfaultfd", "fanotify_init",
    "name_to_handle_at", "open_by_handle_at", "vhangup",
)
#: Denied (EPERM) in run children only (the zygote needs them to manage runs).
RUN_DENY = (
    "fork", "vfork", "tkill", "pidfd_open", "pidfd_send_signal", "connect", "sendmsg", "sendmmsg",
    "bind",
    # other processes' scheduling and I/O priority (setpriority(PRIO_USER) reaches every process of
    # the uid), process groups, and pages of other processes
    "setpriority", "sched_setparam", "sched_setscheduler", "sched_setaffinity", "sched_setattr",
    "ioprio_set", "setpgid", "migrate_pages", "move_pages", "process_madvise", "process_mrelease",
    # memory and objects that outlive the run or escape RLIMIT_AS
    "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop", "msgget",
    "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
    "mq_notify", "mq_getsetattr", "memfd_create", "memfd_secret",
    # channels to concurrent runs through shared read-only files
    "flock", "inotify_init", "inotify_init1", "inotify_add_watch", "fanotify_mark",
    # the mount namespace the run was given is final
    "mount", "umount2", "unshare",
)
#: ``fcntl`` commands a run may use (duplicate, close-on-exec, status flags, pipe size); everything
#: else (record locks, F_SETOWN/F_SETSIG signal routing, leases, notifications) is EPERM.
RUN_FCNTL_ALLOWED = (0, 1, 2, 3, 4, 1030, 1032)
FIOSETOWN = 0x8901
SIOCSPGRP = 0x8902


def machine() -> Optional[str]:
    """Normalised architecture name, or None when this module has no syscall table for it."""
    m = platform.machine().lower()
    if m in ("x86_64", "amd64"):
        return "x86_64"
    if m in ("aarch64", "arm64"):
        return "aarch64"
    return None


def _nr(name: str, arch: str) -> Optional[int]:
    pair = _NR[name]
    return pair[0] if arch == "x86_64" else pair[1]


def _ins(code: int, jt: int, jf: int, k: int) -> Tuple[int, int, int, int]:
    return (code, jt, jf, k & 0xFFFFFFFF)


def _eperm() -> int:
    return RET_ERRNO | errno.EPERM


class _Asm:
    """Builds a linear filter: a header, then one block per syscall rule, then ALLOW.

    Each block starts with ``A = nr`` already loaded and ends with ``A = nr`` re-loaded, so blocks can
    be concatenated; the jump over a non-matching block is relative and fits in 8 bits.
    """

    def __init__(self, arch: str) -> None:
        self.arch = arch
        self.prog: List[Tuple[int, int, int, int]] = [
            _ins(LD_W_ABS, 0, 0, OFF_ARCH),
            _ins(JEQ_K, 1, 0, AUDIT_ARCH[arch]),
            _ins(RET_K, 0, 0, RET_KILL_PROCESS),
            _ins(LD_W_ABS, 0, 0, OFF_NR),
        ]
        if arch == "x86_64":
            # x32 ABI syscalls have their own numbers: refuse them all.
            self.prog += [_ins(JGE_K, 0, 1, X32_SYSCALL_BIT), _ins(RET_K, 0, 0, RET_KILL_PROCESS)]

    def deny(self, name: str, ret: int) -> None:
        nr = _nr(name, self.arch)
        if nr is None:
            return
        self.prog += [_ins(JEQ_K, 0, 1, nr), _ins(RET_K, 0, 0, ret)]

    def arg_rule(self, name: str, body: List[Tuple[int, int, int, int]]) -> None:
        """``if nr == name: <body>`` where body may return; falls through with A reloaded to nr."""
        nr = _nr(name, self.arch)
        if nr is None:
            return
        tail = body + [_ins(LD_W_ABS, 0, 0, OFF_NR)]
        if len(tail) > 255:
            raise ValueError("rule too long")
        self.prog.append(_ins(JEQ_K, 0, len(tail), nr))
        self.prog += tail

    def finish(self) -> List[Tuple[int, int, int, int]]:
        return self.prog + [_ins(RET_K, 0, 0, RET_ALLOW)]


def _arg_lo(i: int) -> int:
    # Little-endian (x86_64 and aarch64): the low 32 bits of args[i] come first.
    return 16 + 8 * i


def _ret_if_arg_set(i: int, mask: int, ret: int) -> List[Tuple[int, int, int, int]]:
    return [_ins(LD_W_ABS, 0, 0, _arg_lo(i)), _ins(JSET_K, 0, 1, mask), _ins(RET_K, 0, 0, ret)]


def _ret_if_arg_eq(i: int, value: int, ret: int) -> List[Tuple[int, int, int, int]]:
    return [_ins(LD_W_ABS, 0, 0, _arg_lo(i)), _ins(JEQ_K, 0, 1, value), _ins(RET_K, 0, 0, ret)]


def _ret_unless_arg_in(i: int, values: Sequence[int], ret: int) -> List[Tuple[int, int, int, int]]:
    """``if args[i] not in values: return ret`` (32-bit compare)."""
    body = [_ins(LD_W_ABS, 0, 0, _arg_lo(i))]
    n = len(values)
    for j, v in enumerate(values):
        # on match jump past the remaining compares and the RET
        body.append(_ins(JEQ_K, n - j, 0, v))
    body.append(_ins(RET_K, 0, 0, ret))
    return body


def build_zygote_filter(arch: str) -> List[Tuple[int, int, int, int]]:
    """Rules for the zygote and everything it forks (installed after Python started)."""
    a = _Asm(arch)
    for name in ZYGOTE_DENY:
        a.deny(name, _eperm())
    # clone3 passes its flags in memory, which seccomp cannot read: ENOSYS makes glibc use clone.
    a.deny("clone3", RET_ERRNO | errno.ENOSYS)
    a.arg_rule("clone", _ret_if_arg_set(0, CLONE_NS_FLAGS, _eperm()))
    # A run child gets a mount namespace of its own and one tmpfs in it (see confine.private_tmp):
    # that is the only namespace, and those the only two mount calls, the zygote's tree may make.
    a.arg_rule("unshare", _ret_unless_arg_in(0, [CLONE_NEWNS], _eperm()))
    a.arg_rule("mount", _ret_unless_arg_in(3, [MS_PRIVATE_REC, MS_TMPFS], _eperm()))
    a.arg_rule("socket", _ret_unless_arg_in(0, [AF_UNIX], _eperm()))
    a.arg_rule(
        "ioctl",
        _ret_if_arg_eq(1, TIOCSTI, _eperm()) + _ret_if_arg_eq(1, TIOCLINUX, _eperm()),
    )
    return a.finish()


def build_run_filter(arch: str, own_pid: int) -> List[Tuple[int, int, int, int]]:
    """Extra rules for one run child: no new processes, no signals to others, no addressed sends."""
    a = _Asm(arch)
    for name in RUN_DENY:
        a.deny(name, _eperm())
    # clone without CLONE_THREAD creates a process: refuse (threads stay allowed).
    a.arg_rule(
        "clone",
        [
            _ins(LD_W_ABS, 0, 0, _arg_lo(0)),
            _ins(JSET_K, 1, 0, CLONE_THREAD),
            _ins(RET_K, 0, 0, _eperm()),
        ],
    )
    # signals: only to itself (pid, or 0 = its own process group, of which it is the only member).
    a.arg_rule("kill", _ret_unless_arg_in(0, [0, own_pid], _eperm()))
    a.arg_rule("tgkill", _ret_unless_arg_in(0, [own_pid], _eperm()))
    a.arg_rule("rt_sigqueueinfo", _ret_unless_arg_in(0, [own_pid], _eperm()))
    a.arg_rule("rt_tgsigqueueinfo", _ret_unless_arg_in(0, [own_pid], _eperm()))
    # limits: its own (pid 0 or itself) only; never the zygote's or another run's
    a.arg_rule("prlimit64", _ret_unless_arg_in(0, [0, own_pid], _eperm()))
    a.arg_rule("fcntl", _ret_unless_arg_in(1, list(RUN_FCNTL_ALLOWED), _eperm()))
    a.arg_rule("ioctl", _ret_if_arg_eq(1, FIOSETOWN, _eperm()) + _ret_if_arg_eq(1, SIOCSPGRP, _eperm()))
    # sendto with a destination address (a connected socketpair passes NULL).
    a.arg_rule("sendto", [
        _ins(LD_W_ABS, 0, 0, _arg_lo(4)),
        _ins(JEQ_K, 0, 2, 0),
        _ins(LD_W_ABS, 0, 0, _arg_lo(4) + 4),
        _ins(JEQ_K, 1, 0, 0),
        _ins(RET_K, 0, 0, _eperm()),
    ])
    return a.finish()


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


_libc = None


def _get_libc():
    # This module is sent to the zygote on its own (see zygote.py), so it carries its own loader.
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def set_no_new_privs() -> None:
    """Required before an unprivileged process may install a filter or a Landlock domain."""
    libc = _get_libc()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "prctl(PR_SET_NO_NEW_PRIVS): " + os.strerror(e))


def install(prog: List[Tuple[int, int, int, int]]) -> None:
    """Install a filter on the calling thread (and its future children).  Raises OSError."""
    libc = _get_libc()
    arr = (_SockFilter * len(prog))(*[_SockFilter(c, jt, jf, k) for (c, jt, jf, k) in prog])
    fprog = _SockFprog(len(prog), ctypes.cast(arr, ctypes.POINTER(_SockFilter)))
    set_no_new_privs()
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "prctl(PR_SET_SECCOMP): " + os.strerror(e))


def prepare(prog: List[Tuple[int, int, int, int]]):
    """Pre-build the ctypes objects of a filter so installing it later costs one syscall."""
    arr = (_SockFilter * len(prog))(*[_SockFilter(c, jt, jf, k) for (c, jt, jf, k) in prog])
    fprog = _SockFprog(len(prog), ctypes.cast(arr, ctypes.POINTER(_SockFilter)))
    return (arr, fprog)


def install_prepared(prepared) -> None:
    libc = _get_libc()
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prepared[1]), 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "prctl(PR_SET_SECCOMP): " + os.strerror(e))


PID_PLACEHOLDER = 0x7FFFFFF1
"""Stands for the run child's pid in a run filter built before the child exists."""


class PreparedRunFilter:
    """The run filter built once in the zygote; a child patches in its pid and installs it.

    Building and converting ~300 instructions costs more than the whole run of a small program;
    after ``fork`` only the few pid operands differ, so they are the only thing a child writes.
    """

    def __init__(self, arch: str) -> None:
        prog = build_run_filter(arch, PID_PLACEHOLDER)
        self.slots = [i for i, ins in enumerate(prog) if ins[3] == PID_PLACEHOLDER]
        if not self.slots:
            raise ValueError("run filter without a pid operand")
        self._prepared = prepare(prog)

    def install(self, pid: int) -> None:
        arr = self._prepared[0]
        for i in self.slots:
            arr[i].k = pid
        install_prepared(self._prepared)


def pack(prog: List[Tuple[int, int, int, int]]) -> bytes:
    """The filter as raw ``struct sock_filter`` bytes (for inspection and tests)."""
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog)


def available() -> Tuple[bool, str]:
    """Whether this kernel/arch can run the filter (checked without installing anything)."""
    arch = machine()
    if arch is None:
        return False, "no syscall table for architecture " + platform.machine()
    try:
        with open("/proc/self/status") as f:
            if "Seccomp:" not in f.read():
                return False, "kernel built without seccomp"
    except OSError:
        pass
    try:
        libc = _get_libc()
        if libc.prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0:
            return False, "prctl(PR_GET_SECCOMP) failed: " + os.strerror(ctypes.get_errno())
    except Exception as e:  # pragma: no cover - exotic libc
        return False, "ctypes/prctl unavailable: %s" % (e,)
    return True, "seccomp-bpf (%s)" % arch

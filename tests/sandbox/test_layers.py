"""Unit tests of the isolation building blocks (run in-process, no sandbox needed)."""

from __future__ import annotations

import os
import struct

import pytest

from tracefix.sandbox import capabilities, describe, harness, landlock, seccomp
from tracefix.sandbox.bwrap import SANDBOX_ENV, bwrap_command, bwrap_path, read_only_paths
from tracefix.sandbox.protocol import FrameReader, OutputTail


def _run_filter(prog, nr: int, arch: str = "x86_64", args=(0, 0, 0, 0, 0, 0)) -> int:
    """A tiny classic-BPF interpreter, enough to evaluate our filters on a fake seccomp_data."""
    data = struct.pack("<iI Q", nr, seccomp.AUDIT_ARCH[arch], 0) + b"".join(struct.pack("<Q", a & (2**64 - 1)) for a in args)
    a, pc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == seccomp.LD_W_ABS:
            a = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif code == seccomp.RET_K:
            return k
        elif code == seccomp.JEQ_K:
            pc += 1 + (jt if a == k else jf)
        elif code == seccomp.JGE_K:
            pc += 1 + (jt if a >= k else jf)
        elif code == seccomp.JSET_K:
            pc += 1 + (jt if a & k else jf)
        else:  # pragma: no cover
            raise AssertionError("unknown opcode %#x" % code)


EPERM = seccomp.RET_ERRNO | 1
ENOSYS = seccomp.RET_ERRNO | 38


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_zygote_filter_rules(arch: str) -> None:
    p = seccomp.build_zygote_filter(arch)
    nr = lambda n: seccomp._nr(n, arch)  # noqa: E731
    assert _run_filter(p, 0 if arch == "x86_64" else 63, arch) == seccomp.RET_ALLOW  # read
    for name in ("execve", "execveat", "ptrace", "mount", "unshare", "setns", "bpf", "io_uring_setup",
                 "keyctl", "perf_event_open", "kexec_load", "init_module", "pivot_root", "umount2"):
        assert _run_filter(p, nr(name), arch) == EPERM, name
    assert _run_filter(p, nr("clone3"), arch) == ENOSYS
    assert _run_filter(p, nr("clone"), arch, (0x10000000,)) == EPERM  # CLONE_NEWUSER
    assert _run_filter(p, nr("clone"), arch, (0x01200011,)) == seccomp.RET_ALLOW  # fork()
    assert _run_filter(p, nr("socket"), arch, (1, 1)) == seccomp.RET_ALLOW  # AF_UNIX
    for fam in (2, 10, 16, 17):  # AF_INET, AF_INET6, AF_NETLINK, AF_PACKET
        assert _run_filter(p, nr("socket"), arch, (fam, 1)) == EPERM
    assert _run_filter(p, nr("ioctl"), arch, (0, 0x5412)) == EPERM  # TIOCSTI
    assert _run_filter(p, nr("ioctl"), arch, (0, 0x5401)) == seccomp.RET_ALLOW  # TCGETS


def test_foreign_arch_and_x32_are_killed() -> None:
    p = seccomp.build_zygote_filter("x86_64")
    data_arch = seccomp.AUDIT_ARCH["aarch64"]
    assert p[1][3] == seccomp.AUDIT_ARCH["x86_64"] and p[2][3] == seccomp.RET_KILL_PROCESS
    assert _run_filter(p, 0x40000000 | 1) == seccomp.RET_KILL_PROCESS
    assert data_arch != seccomp.AUDIT_ARCH["x86_64"]


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_run_filter_rules(arch: str) -> None:
    me = 1234
    p = seccomp.build_run_filter(arch, me)
    nr = lambda n: seccomp._nr(n, arch)  # noqa: E731
    assert _run_filter(p, nr("clone"), arch, (0x01200011,)) == EPERM  # fork
    assert _run_filter(p, nr("clone"), arch, (0x003D0F00,)) == seccomp.RET_ALLOW  # pthread_create
    assert _run_filter(p, nr("kill"), arch, (me, 9)) == seccomp.RET_ALLOW
    assert _run_filter(p, nr("kill"), arch, (0, 9)) == seccomp.RET_ALLOW
    for target in (-1, 1, me + 1, -me):
        assert _run_filter(p, nr("kill"), arch, (target, 9)) == EPERM, target
    assert _run_filter(p, nr("tgkill"), arch, (me, me + 1, 9)) == seccomp.RET_ALLOW
    assert _run_filter(p, nr("tgkill"), arch, (1, 1, 9)) == EPERM
    for name in ("connect", "sendmsg", "bind", "pidfd_open", "tkill"):
        assert _run_filter(p, nr(name), arch) == EPERM, name
    assert _run_filter(p, nr("sendto"), arch, (3, 0, 1, 0, 0, 0)) == seccomp.RET_ALLOW
    assert _run_filter(p, nr("sendto"), arch, (3, 0, 1, 0, 0x7FFF0000, 16)) == EPERM
    assert _run_filter(p, nr("sendto"), arch, (3, 0, 1, 0, 0x7F0000000000, 16)) == EPERM


def test_landlock_abi_reported() -> None:
    abi = landlock.abi_version()
    assert abi == capabilities()["landlock_abi"]
    assert landlock.fs_rights(1) == (1 << 13) - 1
    assert landlock.fs_rights(5) & landlock.FS_IOCTL_DEV


def test_capability_report_and_bwrap_command() -> None:
    caps = capabilities()
    assert caps["best"] in ("full", "reduced", "none")
    assert set(caps["tiers"]) == {"full", "reduced", "none"}
    assert "best tier" in describe()
    if bwrap_path():
        cmd = bwrap_command(65534, 64)
        for flag in ("--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--clearenv"):
            assert flag in cmd
        assert "/home" not in cmd and os.path.realpath(os.getcwd()) not in cmd
        assert "/work/main" not in " ".join(cmd)
    assert set(SANDBOX_ENV) == {"PATH", "LANG"}
    assert all(not p.startswith("/work") and not p.startswith("/home") for p in read_only_paths())


def test_harness_encoder_in_process() -> None:
    enc = harness.encode
    assert enc([1, (2.5, None), {"a": {1, 2}}]) == [1, {"$tuple": [2.5, None]}, {"a": {"$set": [1, 2]}}]
    assert enc({"$x": 1, "y": 2}) == {"$dict": [["$x", 1], ["y", 2]]}
    assert enc({(1,): 2}) == {"$dict": [[{"$tuple": [1]}, 2]]}
    assert enc({frozenset({2, 1})}) == {"$set": [{"$frozenset": [1, 2]}]}
    assert enc({"b", "a", "c"}) == {"$set": ["a", "b", "c"]}
    assert enc({1, "a", (2,)}) == {"$set": sorted([1, "a", {"$tuple": [2]}], key=lambda e: __import__("json").dumps(e))}
    big = [0] * 300_000
    assert enc(big) == {"$unsupported": "too large"}
    x: list = []
    x.append(x)
    assert enc(x) == {"$unsupported": "too large"}
    assert enc(b"\x00") == {"$bytes": "AA=="}
    assert enc(10 ** 4000) == 10 ** 4000
    assert enc(10 ** 5000) == {"$unsupported": "too large"}

    class Meta(type):
        @property
        def __name__(cls):  # noqa: N805
            raise RuntimeError("never called")

    assert enc(Meta("Sneaky", (), {})()) == {"$unsupported": "Sneaky"}


def test_frame_reader_limits_and_errors() -> None:
    r = FrameReader(max_frame=100, max_total=1000)
    r.feed(struct.pack(">I", 11) + b'{"t":"end"}')
    assert r.frames == [{"t": "end"}]
    r.feed(struct.pack(">I", 500))
    assert r.over_limit
    r = FrameReader(max_frame=100, max_total=1000)
    r.feed(struct.pack(">I", 3) + b"[1]")
    assert r.error and "protocol error" in r.error
    r = FrameReader(max_frame=100, max_total=1000)
    r.feed(struct.pack(">I", 10) + b"{")
    r.finish()
    assert r.error == "protocol error: truncated frame"


def test_output_tail_counts_characters() -> None:
    t = OutputTail(max_chars=10)
    t.feed(("é" * 4).encode())
    assert t.text() == "éééé"
    t.feed(b"x" * 20)
    out = t.text()
    assert out.endswith("x" * 10) and "of 24 characters" in out
    t = OutputTail(max_chars=10)
    for _ in range(1000):
        t.feed(b"\xff" * 1000)
    assert len(t.tail) <= 2 * t.keep_bytes and "of 1000000 characters" in t.text()

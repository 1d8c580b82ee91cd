"""Hostile candidate programs, run at every isolated tier this host offers ("full", "reduced").

Every case asserts the exact outcome (status, which steps passed or raised what, detail), that the
zygote serving the sandbox survived (candidate code can crash its own run, never the worker), that
the next run on the same Sandbox is clean, and, where it applies, that the host is untouched.
The programs and their expected outcomes are in ``adversarial_cases.py`` (bench/soak.py plays them too).
"""

from __future__ import annotations

import os
import socket
from typing import List, Tuple

import pytest

from tracefix.sandbox import Execution, RunStatus, Sandbox

from .adversarial_cases import CASES, EPERM, Case
from .conftest import prog

SECRET = os.environ["TRACEFIX_TEST_SECRET"]


def zygote_pids(sb: Sandbox) -> List[int]:
    return [w.proc.pid for w in sb._pool._all if w.proc is not None]  # type: ignore[union-attr]


def outcomes(ex: Execution) -> List[Tuple]:
    """[(ok, value)] or [(ok, error_type, error_message)] per reported step."""
    out: List[Tuple] = []
    for t in ex.tests:
        for s in t.steps:
            out.append((True, s.value) if s.ok else (False, s.error_type, s.error_message))
    return out


def check_clean_next_run(sb: Sandbox) -> None:
    """The same worker serves a normal run right after, with no trace of the previous one."""
    code = "import os, builtins, sys\ndef probe():\n    return sorted(os.listdir('.'))\n"
    ex = sb.execute(prog(code, ("eval", "probe()"), ("eval", "hasattr(builtins, 'PWNED')"),
                         ("eval", "'solution' in sys.modules and hasattr(sys.modules['solution'], 'LEAK')"),
                         ("eval", "len([1, 2, 3])"), ("eval", "(1, {2})")))
    assert ex.status == RunStatus.OK, ex.detail
    assert outcomes(ex) == [(True, []), (True, False), (True, False), (True, 3),
                            (True, {"$tuple": [1, {"$set": [2]}]})]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_adversarial(sb: Sandbox, case: Case) -> None:
    before = zygote_pids(sb)
    ex = sb.execute(prog(case.code, *case.steps, timeout=case.timeout))
    assert ex.status == case.status, (ex.status, ex.detail, outcomes(ex), ex.output[-300:])
    assert case.detail in ex.detail, ex.detail
    if callable(case.expect):
        case.expect(ex, sb.tier)
    elif case.expect is not None:
        assert outcomes(ex) == case.expect
    assert ex.wall_s < case.timeout + 3
    # the candidate could hurt only its own run: the same worker is still there, and clean
    assert zygote_pids(sb) == before
    check_clean_next_run(sb)
    assert zygote_pids(sb) == before
    assert not os.path.exists("/work/main/PWNED")


def test_tcp_and_udp_to_localhost_blocked(sb: Sandbox) -> None:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(5)
    tcp.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    try:
        code = ("import socket\n"
                "def tcp(port):\n    socket.create_connection(('127.0.0.1', port), timeout=0.5).send(b'hi')\n"
                "def udp(port):\n    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'hi', ('127.0.0.1', port))\n"
                "def raw6(port):\n    socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n")
        ex = sb.execute(prog(code, tests=[("t", [("exec", "tcp(%d)" % tcp.getsockname()[1])]),
                                          ("u", [("exec", "udp(%d)" % udp.getsockname()[1])]),
                                          ("v", [("exec", "raw6(1)")])]))
        assert ex.status == RunStatus.OK
        assert outcomes(ex) == [(False,) + EPERM] * 3
        with pytest.raises(BlockingIOError):
            tcp.accept()
        with pytest.raises(BlockingIOError):
            udp.recvfrom(100)
    finally:
        tcp.close()
        udp.close()


def test_unix_socket_to_host_server_blocked(sb: Sandbox, tmp_path) -> None:
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(tmp_path, 0o777)
    os.chmod(d, 0o777)
    path = str(d / "srv.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o777)
    srv.listen(1)
    srv.setblocking(False)
    try:
        code = "import socket\ndef go(p):\n    s = socket.socket(socket.AF_UNIX)\n    s.connect(p)\n    s.send(b'x')\n"
        ex = sb.execute(prog(code, ("exec", "go(%r)" % path)))
        assert ex.status == RunStatus.OK
        assert outcomes(ex) == [(False,) + EPERM]
        with pytest.raises(BlockingIOError):
            srv.accept()
    finally:
        srv.close()


def test_world_writable_host_dir_not_writable(sb: Sandbox, tmp_path) -> None:
    d = tmp_path / "ww"
    d.mkdir()
    os.chmod(tmp_path, 0o777)
    os.chmod(d, 0o777)
    target = d / "owned.txt"
    ex = sb.execute(prog("", ("exec", "open(%r, 'w').write('x')" % str(target))))
    assert ex.status == RunStatus.OK
    (st,) = [s for t in ex.tests for s in t.steps]
    # full: the host directory does not exist in the sandbox; reduced: the run's private /tmp hides
    # the host's (FileNotFoundError) or, without one, Landlock refuses (PermissionError)
    assert not st.ok and st.error_type in ("FileNotFoundError", "PermissionError"), st
    assert not target.exists()


def test_secret_not_reachable_anywhere(sb: Sandbox) -> None:
    code = ("import os\n"
            "def scan():\n"
            "    found = []\n"
            "    for name in ['/proc/self/environ', '/proc/1/environ', '/proc/%d/environ' % os.getppid()]:\n"
            "        try:\n"
            "            found.append(open(name, 'rb').read())\n"
            "        except OSError:\n"
            "            pass\n"
            "    return b''.join(found) + repr(dict(os.environ)).encode()\n")
    ex = sb.execute(prog(code, ("eval", "scan()")))
    assert ex.status == RunStatus.OK
    (val,) = [s.value for t in ex.tests for s in t.steps]
    import base64
    assert SECRET.encode() not in base64.b64decode(val["$bytes"])


def test_zygote_replaced_when_killed(sb: Sandbox) -> None:
    """A zygote that dies between runs is replaced transparently; the next run succeeds."""
    w = sb._pool._all[0]  # type: ignore[union-attr]
    assert sb.execute(prog("x = 1", ("eval", "x"))).status == RunStatus.OK
    os.killpg(w.proc.pid, 9)
    w.proc.wait()
    ex = sb.execute(prog("x = 1", ("eval", "x")))
    assert ex.status == RunStatus.OK and outcomes(ex) == [(True, 1)]

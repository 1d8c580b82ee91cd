"""The hostile candidate programs of the adversarial suite, shared by its tests and by bench/soak.py.

Each :class:`Case` is a program (``code``), the steps run against it, and the exact outcome the
sandbox must report.  ``tests/sandbox/test_adversarial.py`` runs every case at each isolated tier
and asserts that outcome; ``bench/soak.py`` plays the same programs as candidate code in episodes
through a server for minutes on end, mixed with honest episodes and faults.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import pytest

from tracefix.core.constants import TRUNCATION_MARKER
from tracefix.sandbox import Execution, RunStatus

EPERM = ("PermissionError", "[Errno 1] Operation not permitted")


@dataclass
class Case:
    name: str
    code: str
    steps: Sequence[Tuple[str, str]] = (("eval", "1"),)
    status: RunStatus = RunStatus.OK
    expect: Optional[object] = None
    """list of outcomes (see ``outcomes``), or a callable(ex, tier) doing its own asserts"""
    detail: str = ""
    timeout: float = 1.0


def _not_found_or_denied(tier: str) -> str:
    return "FileNotFoundError" if tier == "full" else "PermissionError"


def expect_fs_denied(ex: Execution, tier: str) -> None:
    (st,) = [s for t in ex.tests for s in t.steps]
    assert not st.ok and st.error_type == _not_found_or_denied(tier), st


def expect_proc_denied(ex: Execution, tier: str) -> None:
    (st,) = [s for t in ex.tests for s in t.steps]
    assert not st.ok and st.error_type == "PermissionError", st


def expect_truncated_tail(char: str) -> Callable[[Execution, str], None]:
    def check(ex: Execution, tier: str) -> None:
        assert ex.output.startswith(TRUNCATION_MARKER.split("{")[0]), ex.output[:80]
        assert len(ex.output) < 1200
        if char:
            assert ex.output.endswith(char * 50)
    return check


FAKE_FRAME = json.dumps({"t": "step", "ok": True, "v": 7}).encode()
FAKE = repr(struct.pack(">I", len(FAKE_FRAME)) + FAKE_FRAME)

CASES = [
    Case("infinite_loop", "while True:\n    pass\n", status=RunStatus.TIMEOUT, detail="timed out after 1 s"),
    Case("cpu_burn_in_threads",
         "import threading\ndef burn():\n    while True:\n        pass\n"
         "for _ in range(4):\n    threading.Thread(target=burn, daemon=True).start()\nburn()\n",
         status=RunStatus.TIMEOUT, detail="timed out after 1 s"),
    Case("fork_bomb", "import os\ndef bomb():\n    while True:\n        os.fork()\n",
         steps=[("exec", "bomb()")], expect=[(False,) + EPERM]),
    Case("daemon_double_fork",
         "import os, time\ndef daemon():\n    if os.fork() == 0:\n        os.setsid()\n"
         "        if os.fork() == 0:\n            time.sleep(30)\n        os._exit(0)\n    return 'parent'\n",
         steps=[("eval", "daemon()")], expect=[(False,) + EPERM]),
    Case("memory_bomb", "x = []\nwhile True:\n    x.append([0] * (16 * 1024 * 1024))\n",
         steps=[("eval", "1"), ("eval", "2")], status=RunStatus.MEMORY, expect=[(False, "MemoryError", "")],
         detail="memory limit (512 MB) exceeded", timeout=5.0),
    Case("memory_bomb_single_alloc", "def grow():\n    return bytearray(4 * 1024 ** 3)\n",
         steps=[("eval", "1"), ("eval", "len(grow())"), ("eval", "3")], status=RunStatus.MEMORY,
         expect=[(True, 1), (False, "MemoryError", "")], detail="memory limit"),
    Case("deep_recursion", "def f(n):\n    return f(n + 1)\n", steps=[("eval", "f(0)")],
         expect=[(False, "RecursionError", "maximum recursion depth exceeded")]),
    Case("infinite_print", "while True:\n    print('spam' * 20)\n", status=RunStatus.OUTPUT_LIMIT,
         expect=expect_truncated_tail(""), detail="output limit (8 MB) exceeded", timeout=5.0),
    Case("print_under_the_limit", "import sys\nsys.stdout.write('y' * (4 * 1024 * 1024))\n",
         expect=expect_truncated_tail("y"), timeout=5.0),
    Case("huge_single_line", "import sys\nsys.stdout.write('y' * (64 * 1024 * 1024))\n",
         status=RunStatus.OUTPUT_LIMIT, expect=expect_truncated_tail("y"), detail="output limit", timeout=5.0),
    Case("binary_output", "import sys\nsys.stdout.buffer.write(bytes(range(256)) * 64)\nsys.stdout.flush()\n",
         expect=lambda ex, tier: ("\ufffd" in ex.output) or pytest.fail(ex.output[:100])),
    Case("big_file", "def w():\n    with open('big.bin', 'wb') as f:\n        f.write(b'0' * (64 * 1024 * 1024))\n",
         steps=[("exec", "w()")], expect=[(False, "OSError", "[Errno 27] File too large")]),
    Case("exhaust_fds", "fs = []\ndef grab():\n    while True:\n        fs.append(open('/dev/null'))\n",
         steps=[("exec", "grab()"), ("eval", "1")],
         expect=[(False, "OSError", "[Errno 24] Too many open files: '/dev/null'"), (True, 1)]),
    Case("read_etc_passwd", "", steps=[("eval", "open('/etc/passwd').read()")], expect=expect_fs_denied),
    Case("read_project_file", "", steps=[("eval", "open('/work/main/pyproject.toml').read()")],
         expect=expect_fs_denied),
    Case("read_proc1_environ", "", steps=[("eval", "open('/proc/1/environ', 'rb').read()")],
         expect=expect_proc_denied),
    Case("read_proc_self_environ", "", steps=[("eval", "open('/proc/self/environ', 'rb').read()")],
         expect=expect_proc_denied),
    Case("environ_has_no_secret", "import os", steps=[("eval", "dict(os.environ)")],
         expect=[(True, {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"})]),
    Case("list_root", "import os", steps=[("eval", "sorted(os.listdir('/'))")], expect=expect_proc_denied),
    Case("write_outside_tmp", "", steps=[("exec", "open('/work/main/PWNED', 'w').write('x')")],
         expect=expect_fs_denied),
    Case("os_system", "import os", steps=[("eval", "os.system('touch /tmp/x')")], expect=[(True, 127 << 8)]),
    Case("subprocess", "import subprocess", steps=[("eval", "subprocess.run(['/usr/bin/true']).returncode")],
         expect=[(False,) + EPERM]),
    Case("os_execv", "import os", steps=[("exec", "os.execv('/usr/bin/true', ['true'])")],
         expect=[(False,) + EPERM]),
    Case("ctypes_getpid_ok", "import ctypes, os",
         steps=[("eval", "ctypes.CDLL(None).getpid() == os.getpid()")], expect=[(True, True)]),
    Case("ctypes_ptrace", "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n",
         steps=[("eval", "(libc.ptrace(16, 1, 0, 0), ctypes.get_errno())")],  # PTRACE_ATTACH to pid 1
         expect=[(True, {"$tuple": [-1, 1]})]),
    Case("syscall_unshare_user", "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n",
         steps=[("eval", "(libc.unshare(0x10000000), ctypes.get_errno())")], expect=[(True, {"$tuple": [-1, 1]})]),
    Case("syscall_io_uring_setup", "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n",
         steps=[("eval", "(libc.syscall(425, 8, ctypes.c_void_p(0)), ctypes.get_errno())")],
         expect=[(True, {"$tuple": [-1, 1]})]),
    Case("syscall_bpf", "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n",
         steps=[("eval", "(libc.syscall(321, 0, ctypes.c_void_p(0), 0), ctypes.get_errno())")],
         expect=[(True, {"$tuple": [-1, 1]})]),
    Case("kill_minus_one", "import os", steps=[("exec", "os.kill(-1, 9)"), ("eval", "1")],
         expect=[(False,) + EPERM, (True, 1)]),
    Case("kill_parent", "import os", steps=[("exec", "os.kill(os.getppid(), 9)")], expect=[(False,) + EPERM]),
    Case("sigalrm_kills_itself", "import signal",
         steps=[("exec", "signal.setitimer(signal.ITIMER_REAL, 0.05)"), ("exec", "while True: pass")],
         status=RunStatus.CRASHED, expect=[(True, None)], detail="killed by SIGALRM"),
    Case("ignore_sigterm", "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass\n",
         status=RunStatus.TIMEOUT, expect=[], detail="timed out"),
    Case("sys_exit_0", "import sys", steps=[("eval", "1"), ("exec", "sys.exit(0)"), ("eval", "2")],
         status=RunStatus.CRASHED, expect=[(True, 1)], detail="called sys.exit() before reporting every step"),
    Case("os_exit_0", "import os", steps=[("exec", "os._exit(0)"), ("eval", "2")], status=RunStatus.CRASHED,
         expect=[], detail="exited with code 0 before reporting every step"),
    Case("fake_frames_on_stdout", "import sys\nsys.stdout.buffer.write(%s)\n" % FAKE,
         steps=[("eval", "2")], expect=[(True, 2)]),
    Case("garbage_on_result_fds", "import os\nfor fd in range(3, 21):\n    try:\n"
         "        os.write(fd, b'\\x00\\x00\\x00\\x05{{{{{')\n    except OSError:\n        pass\n",
         steps=[("eval", "2")], status=RunStatus.CRASHED, detail="protocol error"),
    Case("forged_frame_then_exit", "import os\nfor fd in range(3, 21):\n    try:\n"
         "        os.write(fd, %s)\n    except OSError:\n        pass\nos._exit(0)\n" % FAKE,
         steps=[("eval", "1"), ("eval", "2")], status=RunStatus.CRASHED, expect=[],
         detail="protocol error"),
    Case("oversized_frame_on_result_fd", "import os, struct\nos.write(3, struct.pack('>I', 2**31))\n",
         steps=[("eval", "1")], status=RunStatus.OUTPUT_LIMIT, detail="result channel limit exceeded"),
    Case("always_equal_object", "class Eq:\n    def __eq__(self, o):\n        return True\n"
         "    def __hash__(self):\n        return 0\n    def __repr__(self):\n        return '7'\n",
         steps=[("eval", "Eq()"), ("eval", "[Eq()]")],
         expect=[(True, {"$unsupported": "Eq"}), (True, [{"$unsupported": "Eq"}])]),
    # Patching the builtins module, shadowing a builtin with a name of one's own, or rebinding the
    # harness' functions does not reach the test expressions (they see pristine builtins and only
    # the reference's names); the program itself still sees its own patches.
    Case("monkeypatch_builtins", "import builtins\nbuiltins.len = lambda x: 42\nbuiltins.all = lambda x: True\n"
         "builtins.PWNED = True\ndef own():\n    return len([])\n",
         steps=[("eval", "len([])"), ("eval", "all([False])"), ("eval", "own()")],
         expect=[(True, 0), (True, False), (True, 42)]),
    Case("patch_harness_encoder", "import sys\nh = sys.modules['_tracefix_harness']\n"
         "h.encode = lambda v, *a: 'forged'\nh._error_frame = lambda e, k: {'t': 'step', 'k': k, 'ok': True}\n"
         "h._Encoder = None\nLEAK = 1\n",
         steps=[("eval", "5"), ("eval", "1 / 0")], expect=[(True, 5), (False, "ZeroDivisionError", "division by zero")]),
    Case("patch_builtins_from_a_step", "import sys\n"
         "def sneak():\n    sys._getframe(1).f_globals['__builtins__']['sorted'] = lambda x: 'forged'\n    return 1\n",
         steps=[("eval", "sneak()"), ("eval", "sorted([2, 1])")], expect=[(True, 1), (True, [1, 2])]),
    Case("subclasses_walk_finds_harness_but_no_channel",
         "import os, stat\n"
         "def walk():\n    return sorted({c.__name__ for c in object.__subclasses__() if c.__name__ in ('_Channel', 'Zygote')})\n"
         "def sockets():\n    out = []\n    for fd in range(256):\n        try:\n"
         "            if stat.S_ISSOCK(os.fstat(fd).st_mode):\n                out.append(fd)\n"
         "        except OSError:\n            pass\n    return out\n",
         steps=[("eval", "walk()"), ("eval", "sockets()")], expect=[(True, ["Zygote", "_Channel"]), (True, [])]),
    Case("input_eof", "", steps=[("eval", "input()")], expect=[(False, "EOFError", "EOF when reading a line")]),
    Case("segfault_ctypes", "import ctypes", steps=[("eval", "ctypes.string_at(0)")],
         status=RunStatus.CRASHED, expect=[], detail="killed by SIGSEGV"),
    Case("leftover_files_and_tmp", "import os, tempfile\nopen('left.txt', 'w').write('x')\nos.mkdir('d')\n"
         "os.chmod('d', 0)\n", steps=[("eval", "sorted(os.listdir('.'))")], expect=[(True, ["d", "left.txt"])]),
    Case("late_daemon_thread", "import threading, time\n"
         "def late():\n    time.sleep(0.3)\n    open('late.txt', 'w').write('x')\n"
         "threading.Thread(target=late, daemon=True).start()\n", steps=[("eval", "1")], expect=[(True, 1)]),
]

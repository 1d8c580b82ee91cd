"""Ordinary behaviour of the sandbox: values, errors, tracebacks, setup code, partial results, output."""

from __future__ import annotations

import os
import threading

import pytest

from tracefix.core.constants import MAX_OUTPUT_CHARS, TRUNCATION_MARKER
from tracefix.sandbox import (
    Execution,
    Program,
    RunStatus,
    Sandbox,
    SandboxConfig,
    SandboxConfigError,
    StepSpec,
    TestSpec,
    detect_tier,
    get_sandbox,
)

from .conftest import prog


def values(ex: Execution) -> list:
    return [s.value for t in ex.tests for s in t.steps]


def test_public_imports_and_shared_instance() -> None:
    sb = get_sandbox()
    assert get_sandbox() is sb
    assert sb.tier in ("full", "reduced", "none")
    assert detect_tier() in ("full", "reduced", "none")


def test_gcd_five_tests(best: Sandbox) -> None:
    code = "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n"
    p = Program(code=code, tests=tuple(TestSpec("t%d" % i, (StepSpec("eval", "gcd(%d, 21)" % (7 * i)),))
                                       for i in range(5)))
    ex = best.execute(p)
    assert ex.status == RunStatus.OK, ex.detail
    assert [t.name for t in ex.tests] == ["t0", "t1", "t2", "t3", "t4"]
    assert values(ex) == [21, 7, 7, 21, 7]
    assert ex.tier == best.tier and ex.wall_s > 0


ENCODED = [
    ("None", None),
    ("True", True),
    ("False", False),
    ("2**100", 2**100),
    ("-7", -7),
    ("1.5", 1.5),
    ("'héllo\\n'", "héllo\n"),
    ("[1, [2, []]]", [1, [2, []]]),
    ("(1, 'a')", {"$tuple": [1, "a"]}),
    ("()", {"$tuple": []}),
    ("{3, 1, 2}", {"$set": [1, 2, 3]}),
    ("frozenset({'b', 'a'})", {"$frozenset": ["a", "b"]}),
    ("{'a': 1, 'b': [2]}", {"a": 1, "b": [2]}),
    ("{1: 'x', (1, 2): None}", {"$dict": [[1, "x"], [{"$tuple": [1, 2]}, None]]}),
    ("{'$tuple': 1}", {"$dict": [["$tuple", 1]]}),
    ("float('inf')", {"$float": "inf"}),
    ("float('-inf')", {"$float": "-inf"}),
    ("float('nan')", {"$float": "nan"}),
    ("b'\\x00\\xffab'", {"$bytes": "AP9hYg=="}),
    ("True + 0", 1),
    ("bytearray(b'x')", {"$unsupported": "bytearray"}),
    ("len", {"$unsupported": "builtin_function_or_method"}),
    ("object()", {"$unsupported": "object"}),
    ("range(3)", {"$unsupported": "range"}),
]


def test_every_encoded_type(best: Sandbox) -> None:
    p = prog("", *[("eval", e) for e, _ in ENCODED])
    ex = best.execute(p)
    assert ex.status == RunStatus.OK, ex.detail
    assert values(ex) == [v for _, v in ENCODED]


def test_strict_types_subclasses_are_unsupported(best: Sandbox) -> None:
    code = (
        "import collections\n"
        "class MyInt(int): pass\n"
        "class MyStr(str): pass\n"
        "class MyList(list): pass\n"
        "class MyDict(dict): pass\n"
        "class AlwaysEq:\n"
        "    def __eq__(self, o): return True\n"
        "    def __hash__(self): return 0\n"
    )
    p = prog(code, ("eval", "MyInt(3)"), ("eval", "MyStr('a')"), ("eval", "[MyList()]"),
             ("eval", "{'k': MyDict()}"), ("eval", "AlwaysEq()"), ("eval", "collections.OrderedDict(a=1)"),
             ("eval", "collections.Counter('aab')"), ("eval", "{AlwaysEq(): 1}"))
    ex = best.execute(p)
    assert ex.status == RunStatus.OK
    assert values(ex) == [
        {"$unsupported": "MyInt"}, {"$unsupported": "MyStr"}, [{"$unsupported": "MyList"}],
        {"k": {"$unsupported": "MyDict"}}, {"$unsupported": "AlwaysEq"},
        {"$unsupported": "OrderedDict"}, {"$unsupported": "Counter"},
        {"$dict": [[{"$unsupported": "AlwaysEq"}, 1]]},
    ]


def test_too_large_and_too_deep(best: Sandbox) -> None:
    p = prog("def deep(n):\n    x = []\n    for _ in range(n):\n        x = [x]\n    return x\n",
             ("eval", "deep(200)"), ("eval", "list(range(300000))"), ("eval", "'x' * (3 * 1024 * 1024)"),
             ("eval", "10 ** 5000"), ("eval", "len(deep(10))"))
    ex = best.execute(p)
    assert ex.status == RunStatus.OK
    assert values(ex) == [{"$unsupported": "too large"}] * 4 + [1]


def test_raises_with_builtin_bases(best: Sandbox) -> None:
    code = (
        "class ParseError(ValueError):\n"
        "    pass\n"
        "class ValueError(Exception):  # shadows the name, not the class\n"
        "    pass\n"
        "def parse(s):\n"
        "    if not s:\n"
        "        raise ParseError('empty input')\n"
        "    raise ValueError('fake')\n"
    )
    p = prog(code, tests=[("a", [("eval", "parse('')")]), ("b", [("eval", "parse('x')")]),
                          ("c", [("eval", "{}['k']")])])
    ex = best.execute(p)
    assert ex.status == RunStatus.OK
    a, b, c = (t.steps[0] for t in ex.tests)
    assert not a.ok and a.error_type == "ParseError" and a.error_message == "empty input"
    assert a.error_bases == ("ValueError", "Exception", "BaseException")
    assert b.error_type == "ValueError" and b.error_bases == ("Exception", "BaseException")
    assert c.error_type == "KeyError" and c.error_bases == ("KeyError", "LookupError", "Exception", "BaseException")


def test_failed_step_does_not_hide_later_steps(best: Sandbox) -> None:
    """A raising step may be one that *expects* the exception (TASK_FORMAT "raises"); the sandbox
    cannot know, so it runs and reports every step; the grader decides."""
    p = prog("def f(x):\n    return 10 // x\n",
             tests=[("t1", [("eval", "f(0)"), ("eval", "f(1)")]), ("t2", [("exec", "y = f(2)"), ("eval", "y")])])
    ex = best.execute(p)
    assert ex.status == RunStatus.OK
    assert [len(t.steps) for t in ex.tests] == [2, 2]
    assert ex.tests[0].steps[0].error_type == "ZeroDivisionError"
    assert ex.tests[0].steps[1].ok and ex.tests[0].steps[1].value == 10
    assert ex.tests[1].steps[0].ok and ex.tests[1].steps[0].value is None
    assert ex.tests[1].steps[1].value == 5


def test_syntax_error_reports_line_and_runs_nothing(best: Sandbox) -> None:
    code = "def f(x):\n    return x\n\ndef g(:\n    pass\n"
    ex = best.execute(prog(code, ("exec", "print('ran')")))
    assert ex.status == RunStatus.SYNTAX_ERROR
    assert ex.tests == [] and ex.output == ""
    assert ex.syntax_error is not None
    assert ex.syntax_error.line == 4
    assert ex.syntax_error.offset is not None and ex.syntax_error.text.strip() == "def g(:"
    assert "line 4" in ex.detail


def test_traceback_line_numbers_match_source(best: Sandbox) -> None:
    code = (
        "import math\n"             # 1
        "\n"                        # 2
        "def helper(x):\n"          # 3
        "    return math.sqrt(x)\n"  # 4
        "\n"                        # 5
        "def f(x):\n"               # 6
        "    y = x - 1\n"           # 7
        "    return helper(y)\n"    # 8
    )
    ex = best.execute(prog(code, ("eval", "f(0)")))
    st = ex.tests[0].steps[0]
    assert st.error_type == "ValueError" and st.error_message == "math domain error"
    tb = st.traceback
    assert 'File "solution.py", line 8, in f' in tb
    assert 'File "solution.py", line 4, in helper' in tb
    assert "return helper(y)" in tb
    assert tb.rstrip().endswith("ValueError: math domain error")
    assert "harness" not in tb and "<test>" not in tb and "zygote" not in tb


def test_module_body_error_reported_on_every_step(best: Sandbox) -> None:
    code = "x = 1\nraise RuntimeError('boom at import')\n"
    ex = best.execute(prog(code, tests=[("a", [("eval", "x"), ("eval", "2")]), ("b", [("eval", "3")])]))
    assert ex.status == RunStatus.OK
    assert [len(t.steps) for t in ex.tests] == [2, 1]
    for t in ex.tests:
        for st in t.steps:
            assert st.error_type == "RuntimeError" and st.error_message == "boom at import"
            assert 'File "solution.py", line 2, in <module>' in st.traceback


def test_setup_code_namespace(best: Sandbox) -> None:
    code = "__all__ = ['make']\n_hidden = 1\ndef make(v):\n    return Node(v) if 'Node' in globals() else v\n" \
           "def other():\n    return 2\n"
    setup = "class Node:\n    def __init__(self, v):\n        self.v = v\n\ndef build(v):\n    return make(v)\n"
    p = prog(code, ("eval", "build(3)"), ("eval", "'other' in dir()"), ("eval", "'_hidden' in dir()"),
             ("eval", "Node(4).v"), setup=setup)
    ex = best.execute(p)
    assert ex.status == RunStatus.OK
    assert values(ex) == [3, False, False, 4]
    # without __all__: public names only
    ex = best.execute(prog("_x = 1\ny = 2\n", ("eval", "sorted(k for k in dir() if not k.startswith('__'))")))
    assert values(ex) == [["y"]]


def test_each_test_gets_a_fresh_module(best: Sandbox) -> None:
    code = "counter = []\ndef add():\n    counter.append(1)\n    return len(counter)\n"
    p = prog(code, tests=[("a", [("eval", "add()"), ("eval", "add()")]), ("b", [("eval", "add()")])])
    assert values(best.execute(p)) == [1, 2, 1]


def test_partial_results_after_timeout_in_test_3(best: Sandbox) -> None:
    code = "def f(n):\n    if n == 3:\n        while True:\n            pass\n    return n * n\n"
    p = prog(code, tests=[("t%d" % i, [("eval", "f(%d)" % i)]) for i in range(1, 6)], timeout=0.5)
    ex = best.execute(p)
    assert ex.status == RunStatus.TIMEOUT
    assert "timed out after 0.5 s" in ex.detail
    assert [t.name for t in ex.tests] == ["t1", "t2"]
    assert values(ex) == [1, 4]
    assert ex.wall_s < 3


def test_output_captured_and_tail_truncated(best: Sandbox) -> None:
    ex = best.execute(prog("print('hello')\nimport sys\nprint('err', file=sys.stderr)\n"))
    assert ex.status == RunStatus.OK and ex.output == "hello\nerr\n"
    ex = best.execute(prog("for i in range(5000):\n    print('line', i)\n"))
    assert ex.status == RunStatus.OK
    total = sum(len("line %d\n" % i) for i in range(5000))
    tail = "".join("line %d\n" % i for i in range(5000))[-MAX_OUTPUT_CHARS:]
    assert ex.output == TRUNCATION_MARKER.format(kept=MAX_OUTPUT_CHARS, total=total) + tail


def test_output_of_earlier_tests_kept_on_crash(best: Sandbox) -> None:
    code = "import os\ndef f(n):\n    print('in', n)\n    if n == 2:\n        os._exit(3)\n    return n\n"
    ex = best.execute(prog(code, tests=[("t%d" % i, [("eval", "f(%d)" % i)]) for i in range(1, 4)]))
    assert ex.status == RunStatus.CRASHED
    assert "exited with code 3" in ex.detail and "missing results" in ex.detail
    assert values(ex) == [1]
    assert ex.output == "in 1\nin 2\n"


def test_stdlib_imports_work(best: Sandbox) -> None:
    code = "import decimal, fractions, heapq, sqlite3, xml.dom.minidom, email.message, asyncio, json, zlib, hashlib\n"
    ex = best.execute(prog(code, ("eval", "str(decimal.Decimal('1.1') + 1)"),
                           ("eval", "hashlib.sha256(b'x').hexdigest()[:8]"),
                           ("eval", "asyncio.run(asyncio.sleep(0, result=5))")))
    assert ex.status == RunStatus.OK, (ex.detail, ex.tests)
    assert values(ex) == ["2.1", "2d711642", 5]


def test_threads_allowed(best: Sandbox) -> None:
    code = ("import threading\ndef par(n):\n    out = []\n"
            "    ts = [threading.Thread(target=out.append, args=(i,)) for i in range(n)]\n"
            "    [t.start() for t in ts]\n    [t.join() for t in ts]\n    return sorted(out)\n")
    assert values(best.execute(prog(code, ("eval", "par(8)")))) == [list(range(8))]


def test_fifty_concurrent_threads(best: Sandbox) -> None:
    code = "def sq(x):\n    return x * x\n"
    results: dict = {}

    def call(i: int) -> None:
        ex = best.execute(prog(code, ("eval", "sq(%d)" % i), ("eval", "'%d'" % i)))
        results[i] = (ex.status, values(ex))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: (RunStatus.OK, [i * i, str(i)]) for i in range(50)}


def test_empty_test_list_and_empty_steps(best: Sandbox) -> None:
    ex = best.execute(Program(code="x = 1", tests=()))
    assert ex.status == RunStatus.OK and ex.tests == []
    ex = best.execute(Program(code="x = 1", tests=(TestSpec("e", ()), TestSpec("f", (StepSpec("eval", "x"),)))))
    assert ex.status == RunStatus.OK
    assert [(t.name, len(t.steps)) for t in ex.tests] == [("e", 0), ("f", 1)]


def test_timeout_capped_and_clamped(best: Sandbox) -> None:
    ex = best.execute(prog("import time\ntime.sleep(0.2)", timeout=float("nan")))
    assert ex.status == RunStatus.OK


def test_tier_none_refused_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACEFIX_ALLOW_UNSANDBOXED", raising=False)
    with Sandbox(SandboxConfig(tier="none")) as sb:
        ex = sb.execute(prog("x = 1"))
        assert ex.status == RunStatus.REFUSED
        assert "refused unless TRACEFIX_ALLOW_UNSANDBOXED=1" in ex.detail
        assert "bubblewrap" not in ex.detail  # the tier was asked for: installing bwrap would not help
    with pytest.raises(SandboxConfigError, match="unknown sandbox tier 'bogus'.*valid tiers: auto, full, reduced, none"):
        SandboxConfig(tier="bogus")


def test_tier_none_when_allowed(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("TRACEFIX_ALLOW_UNSANDBOXED", "1")
    monkeypatch.setenv("TRACEFIX_SANDBOX_TIER", "none")
    cfg = SandboxConfig()
    assert cfg.tier == "none" and cfg.allow_unsandboxed
    with caplog.at_level("WARNING", logger="tracefix.sandbox"):
        with Sandbox(SandboxConfig(pool_size=1)) as sb:
            ex = sb.execute(prog("def f():\n    return 41 + 1\n", ("eval", "f()")))
    assert ex.status == RunStatus.OK and values(ex) == [42] and ex.tier == "none"
    assert any("WITHOUT ISOLATION" in r.getMessage() for r in caplog.records)


def test_closed_sandbox_refuses() -> None:
    sb = Sandbox(SandboxConfig(pool_size=1, allow_unsandboxed=True))
    sb.close()
    assert sb.execute(prog("x = 1")).status == RunStatus.REFUSED


def test_zygote_killed_mid_run_gives_crashed_then_recovers(sandbox_factory) -> None:
    sb = sandbox_factory(tier=detect_tier(), pool_size=1, allow_unsandboxed=True)
    sb.warm()
    w = sb._pool._all[0]
    killer = threading.Timer(0.3, lambda: os.killpg(w.proc.pid, 9))
    killer.start()
    ex = sb.execute(prog("import time\ndef f():\n    time.sleep(5)\n", ("eval", "1"), ("eval", "f()"), timeout=4))
    killer.join()
    assert ex.status == RunStatus.SANDBOX_ERROR and ex.detail == "sandbox worker died during the run"
    assert values(ex) == [1]
    ex = sb.execute(prog("x = 2", ("eval", "x")))
    assert ex.status == RunStatus.OK and values(ex) == [2]


def test_info_reports_layers(best: Sandbox) -> None:
    best.execute(prog("x = 1"))
    info = best.info()
    assert info["tier"] == best.tier and info["refused"] is None
    if best.tier in ("full", "reduced"):
        layers = info["workers"][0]
        assert layers["seccomp"] and layers["uid"] == 65534
        assert layers["landlock"]["abi"] == info["capabilities"]["landlock_abi"]

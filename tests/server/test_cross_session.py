"""Two real WebSocket sessions on one server (one zygote): the second sees nothing of the first.

Finding 1 of the isolation review, end to end: session A fixes a task (its fix carries a marker) and
submits it, so the server has run A's program and A's task's hidden tests; session B then runs code
that searches every object and frame it can reach for A's program and for those hidden test
expressions, and prints what it found into its own RUN_TESTS observation.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from typing import Iterator

import httpx
import pytest

from tests.helpers import EASY_FIX, EASY_TASK, RUN, SUBMIT, replace
from tracefix.client import TraceFixEnv
from tracefix.sandbox import capabilities

THIEF = '''import gc, sys
WANTED = [s[::-1] for s in {wanted!r}]
OWN = {{id(w) for w in WANTED}}
def _strings():
    seen = []
    for obj in gc.get_objects():
        seen.append(obj)
        if isinstance(obj, dict):
            seen.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            seen.extend(obj)
    frame = sys._getframe()
    while frame is not None:
        seen.extend(frame.f_locals.values())
        frame = frame.f_back
    for value in seen:
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("latin-1")
        if isinstance(value, str) and id(value) not in OWN:
            yield value
FOUND = sorted({{i for text in _strings() for i, w in enumerate(WANTED) if w in text}})
print("FOUND:%s" % FOUND)
'''


@pytest.fixture(scope="module", params=["full", "reduced"])
def one_zygote_server(request: pytest.FixtureRequest) -> Iterator[str]:
    info = capabilities()["tiers"][request.param]
    if not info["available"]:
        pytest.skip("tier %r unavailable on this host: %s" % (request.param, info["detail"]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TRACEFIX_SANDBOX_TIER": request.param, "TRACEFIX_SANDBOX_POOL_SIZE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tracefix.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_session_finds_nothing_of_the_session_before_it(one_zygote_server: str, registry) -> None:
    task = registry.get(EASY_TASK)
    marker = "SESSION-A-" + secrets.token_hex(6)
    hidden = [step.eval for test in task.hidden_tests for step in test.steps if hasattr(step, "eval")]
    assert hidden
    with TraceFixEnv(base_url=one_zygote_server).sync() as a:
        a.reset(task_id=EASY_TASK)
        a.step(EASY_FIX)
        fixed = a.step(replace(1, 1, a.state().code.splitlines()[0] + "  # " + marker))
        assert fixed.observation.error is None
        assert a.step(RUN).observation.tests_passed == a.step(RUN).observation.tests_total
        assert a.step(SUBMIT).observation.success
    with TraceFixEnv(base_url=one_zygote_server).sync() as b:
        start = b.reset(task_id=EASY_TASK).observation
        thief = THIEF.format(wanted=[marker[::-1]] + [h[::-1] for h in hidden])
        b.step(replace(1, 1, thief + task.buggy_code.splitlines()[0]))
        output = b.step(RUN).observation.output
    assert start.task_id == EASY_TASK
    assert "FOUND:[]" in output, output
    assert marker not in output

"""How sessions end under load: idle ones are closed, vanished ones leave nothing, nothing waits needlessly.

Real servers on 127.0.0.1 (embedded, or a separate process where its processes, fds and temp files
are counted), real WebSocket clients, the real sandbox.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
import websockets

from bench.serverproc import ServerProcess
from tracefix.server.app import raise_open_file_limit, session_idle_timeout
from tracefix.server.embedded import EmbeddedServer
from tracefix.server.lifetime import IDLE_CLOSE_CODE

TASK = "curated/chunk_off_by_one"
FIX = {"action_type": "REPLACE_LINES", "start_line": 9, "end_line": 9,
       "new_code_block": "    for start in range(0, len(items), size):"}


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws"


async def request(ws, message: dict) -> dict:
    await ws.send(json.dumps(message))
    return json.loads(await ws.recv())


async def reset(ws, **data) -> dict:
    return (await request(ws, {"type": "reset", "data": {"task_id": TASK, "seed": 0, **data}}))["data"]


async def step(ws, action: dict) -> dict:
    return (await request(ws, {"type": "step", "data": action}))["data"]


def slow_program(total_lines: int, seconds: float) -> dict:
    """Replace the whole program with one that sleeps ``seconds`` each time it is imported (once per test)."""
    return {"action_type": "REPLACE_LINES", "start_line": 1, "end_line": total_lines,
            "new_code_block": f"import time\ntime.sleep({seconds})\n"}


def open_sessions(base: str) -> int:
    import httpx

    return httpx.get(base + "/capacity", timeout=10).json()["sessions"]["open"]


def wait_for(predicate, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture(scope="module")
def idle_server():
    with EmbeddedServer(idle_timeout_s=1.0) as server:
        yield server.base_url


def test_a_silent_session_is_closed_after_the_idle_timeout(idle_server):
    async def scenario() -> tuple:
        async with websockets.connect(ws_url(idle_server)) as ws:
            await reset(ws)
            await asyncio.wait_for(ws.wait_closed(), 30)
            return ws.close_code, ws.close_reason

    code, reason = asyncio.run(scenario())
    assert code == IDLE_CLOSE_CODE and "idle for more than 1 s" in reason
    assert wait_for(lambda: open_sessions(idle_server) == 0)


def test_a_session_that_keeps_talking_or_waits_on_a_long_step_is_not_closed(idle_server):
    async def scenario() -> None:
        async with websockets.connect(ws_url(idle_server)) as ws:
            observation = (await reset(ws))["observation"]
            for _ in range(8):  # 2.4 s of traffic, never 1 s of silence
                assert (await step(ws, {"action_type": "VIEW_CODE"}))["observation"]["error"] is None
                await asyncio.sleep(0.3)
            await step(ws, slow_program(observation["total_lines"], 0.6))
            ran = await step(ws, {"action_type": "RUN_TESTS"})  # 3 tests x 0.6 s: longer than the idle timeout
            assert "visible tests pass" in ran["observation"]["message"]
            after = await step(ws, {"action_type": "VIEW_CODE"})  # and the session is still there
            assert after["observation"]["error"] is None

    asyncio.run(scenario())


def test_idle_timeout_setting(monkeypatch):
    monkeypatch.setenv("TRACEFIX_SESSION_IDLE_TIMEOUT_S", "0")
    assert session_idle_timeout() is None
    monkeypatch.setenv("TRACEFIX_SESSION_IDLE_TIMEOUT_S", "2.5")
    assert session_idle_timeout() == 2.5
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("TRACEFIX_SESSION_IDLE_TIMEOUT_S", bad)
        with pytest.raises(SystemExit, match="TRACEFIX_SESSION_IDLE_TIMEOUT_S"):
            session_idle_timeout()
    monkeypatch.delenv("TRACEFIX_SESSION_IDLE_TIMEOUT_S")
    assert session_idle_timeout() == 600.0


def test_the_open_file_limit_is_raised_to_what_the_host_allows():
    import resource

    soft = raise_open_file_limit()
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (soft, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert soft == hard or hard == resource.RLIM_INFINITY


def test_capacity_reports_sessions_and_both_sandbox_pools(server_url):
    import httpx

    before = httpx.get(server_url + "/capacity", timeout=10).json()
    assert set(before) == {"sessions", "sandbox", "syntax_sandbox"}
    assert before["sessions"]["max"] >= 256

    async def scenario() -> int:
        async with websockets.connect(ws_url(server_url)) as ws:
            await reset(ws)
            return open_sessions(server_url)

    assert asyncio.run(scenario()) == before["sessions"]["open"] + 1
    for pool in ("sandbox", "syntax_sandbox"):
        assert before[pool]["size"] >= 1 and 0 <= before[pool]["idle"] <= before[pool]["size"]


def test_edits_and_views_do_not_wait_for_test_runs_holding_every_worker(server_url):
    """Every test worker is held by a slow run; another session's edit and view are answered while
    those runs are still going (the edit's compile check has a sandbox pool of its own)."""
    import httpx

    workers = httpx.get(server_url + "/capacity", timeout=10).json()["sandbox"]["size"]

    async def holder(started: asyncio.Event) -> None:
        async with websockets.connect(ws_url(server_url)) as ws:
            observation = (await reset(ws))["observation"]
            await step(ws, slow_program(observation["total_lines"], 1.5))
            await ws.send(json.dumps({"type": "step", "data": {"action_type": "RUN_TESTS"}}))
            started.set()
            await ws.recv()  # about 4.5 s (three tests), or the run timeout

    async def scenario() -> None:
        flags = [asyncio.Event() for _ in range(workers)]
        holders = [asyncio.create_task(holder(flag)) for flag in flags]
        for flag in flags:
            await flag.wait()
        while httpx.get(server_url + "/capacity", timeout=10).json()["sandbox"]["idle"] > 0:
            await asyncio.sleep(0.05)
        async with websockets.connect(ws_url(server_url)) as ws:
            await reset(ws)
            edited = await step(ws, FIX)
            viewed = await step(ws, {"action_type": "VIEW_CODE"})
        assert edited["observation"]["error"] is None and "Replaced lines 9-9" in edited["observation"]["message"]
        assert viewed["observation"]["error"] is None
        assert not any(h.done() for h in holders), "the edit waited for the test runs"
        await asyncio.gather(*holders)

    asyncio.run(scenario())


def test_a_client_that_vanishes_mid_step_leaves_nothing_behind(tmp_path):
    tmpdir = tmp_path / "server-tmp"
    tmpdir.mkdir()
    log = tmp_path / "server.log"
    env = {"TMPDIR": str(tmpdir), "TRACEFIX_SANDBOX_POOL_SIZE": "1"}
    with ServerProcess(env=env, log_path=str(log)) as server:
        def settled() -> bool:
            cap = server.capacity()
            return cap["sessions"]["open"] == 0 and cap["sandbox"]["idle"] == cap["sandbox"]["size"] \
                and cap["syntax_sandbox"]["idle"] == cap["syntax_sandbox"]["size"]

        async def warm() -> None:  # start the zygotes of both pools
            async with websockets.connect(ws_url(server.url)) as ws:
                await reset(ws)
                await step(ws, FIX)
                await step(ws, {"action_type": "RUN_TESTS"})

        async def vanish() -> None:
            ws = await websockets.connect(ws_url(server.url))
            observation = (await reset(ws))["observation"]
            await step(ws, slow_program(observation["total_lines"], 0.5))
            await ws.send(json.dumps({"type": "step", "data": {"action_type": "RUN_TESTS"}}))
            while server.capacity()["sandbox"]["idle"] > 0:  # the run is under way
                await asyncio.sleep(0.02)
            ws.transport.abort()  # gone without a close frame, mid-step

        asyncio.run(warm())
        assert wait_for(settled)
        before = server.sample()
        asyncio.run(vanish())
        assert wait_for(settled), server.capacity()  # no session, no worker held
        # (fds may be one lower than before: the HTTP connection of a /capacity probe can still be open then)
        assert wait_for(lambda: server.sample().processes == before.processes and server.sample().fds <= before.fds), (
            before, server.sample())
        assert server.sample().threads <= before.threads + 1
        assert list(tmpdir.iterdir()) == []  # no temp file
        errors = [line for line in log.read_text().splitlines() if re.search(r"ERROR|Traceback", line)]
        assert errors == []
        assert server.capacity()["sessions"]["open"] == 0


def test_sessions_are_not_compressed(server_url, tmp_path):
    """No permessage-deflate: each connection's zlib state made the server's memory creep as sessions
    came and went (bench/soak.py).  The client offers it; the embedded server and `tracefix serve`
    (a separate process) both decline."""
    async def extensions(base: str) -> list:
        async with websockets.connect(ws_url(base)) as ws:  # offers permessage-deflate by default
            return [type(e).__name__ for e in ws.protocol.extensions]

    assert asyncio.run(extensions(server_url)) == []
    with ServerProcess(log_path=str(tmp_path / "server.log")) as server:
        assert asyncio.run(extensions(server.url)) == []

"""The six tools over MCP, on 127.0.0.1: OpenEnv's /mcp route and the standalone `tracefix mcp` server."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.helpers import EASY_TASK
from tracefix.agents.oracle import fix_actions
from tracefix.core.actions import ACTIONS


def oracle_calls(registry, task_id: str) -> list[tuple[str, dict]]:
    task = registry.get(task_id)
    calls = [
        ("replace_lines", {"start_line": a.start_line, "end_line": a.end_line, "new_code": a.new_code_block})
        for a in fix_actions(task.buggy_code, task.reference_code)
    ]
    return calls + [("run_tests", {}), ("submit", {})]


def test_openenv_mcp_route_lists_the_tools_and_plays_an_oracle_episode(server_url, registry):
    from openenv.core.mcp_client import MCPToolClient

    task_id = "curated/lru_cache_class"
    with MCPToolClient(base_url=server_url).sync() as env:
        env.reset(task_id=task_id)
        tools = env.list_tools()
        assert [(t.name, t.description) for t in tools] == [(s.tool, s.description()) for s in ACTIONS]
        replace = next(t for t in tools if t.name == "replace_lines")
        assert replace.input_schema["required"] == ["start_line", "end_line", "new_code"]
        assert "Code (all" in env.call_tool("view_code")
        with pytest.raises(RuntimeError, match=r"end_line \(1\) must be >= start_line \(3\)"):
            env.call_tool("replace_lines", start_line=3, end_line=1, new_code="x")
        texts = [env.call_tool(name, **arguments) for name, arguments in oracle_calls(registry, task_id)]
        assert "success True" in texts[-1] and "hidden" in texts[-1]
        state = env.state()
        assert state.step_count >= len(texts)
        after = env.call_tool("view_code")
        assert "the episode is over" in after


def test_mcp_sessions_do_not_share_episodes(server_url):
    from openenv.core.mcp_client import MCPToolClient

    with MCPToolClient(base_url=server_url).sync() as first, MCPToolClient(base_url=server_url).sync() as second:
        first.reset(task_id=EASY_TASK)
        second.reset(task_id="curated/lru_cache_class")
        assert "def chunk" in first.call_tool("view_code")
        assert "class LRUCache" in second.call_tool("view_code")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def standalone_mcp():
    """`tracefix mcp --transport http` in a subprocess on 127.0.0.1 (stopped at the end)."""
    port = _free_port()
    command = [
        sys.executable, "-m", "tracefix.cli.main", "mcp", "--task", EASY_TASK, "--reward-mode", "binary",
        "--transport", "http", "--port", str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"tracefix mcp exited: {process.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError("tracefix mcp did not start within 60 s")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_standalone_mcp_server_speaks_standard_mcp(standalone_mcp, registry):
    from fastmcp import Client

    task = registry.get(EASY_TASK)

    async def scenario():
        async with Client(standalone_mcp, timeout=60) as client:
            instructions = client.initialize_result.instructions
            assert task.description.strip() in instructions and " 9 |     for start in range" in instructions
            tools = await client.list_tools()
            assert [(t.name, t.description) for t in tools] == [(s.tool, s.description()) for s in ACTIONS]
            texts = []
            for name, arguments in oracle_calls(registry, EASY_TASK):
                result = await client.call_tool(name, arguments)
                texts.append(result.content[0].text)
            late = await client.call_tool("view_code", {}, raise_on_error=False)
            return texts, late

    texts, late = asyncio.run(scenario())
    assert "3/3 visible tests pass" in texts[-2]
    assert "Episode over. Score" in texts[-1] and "success True" in texts[-1]
    assert late.is_error and "the episode is over" in late.content[0].text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--transport", "carrier-pigeon"], "unknown transport 'carrier-pigeon'"),
        (["--task", "curated/nope"], "unknown task id"),
        (["--reward-mode", "dense"], "unknown reward_mode 'dense'"),
    ],
)
def test_standalone_mcp_bad_options_are_clear_errors(arguments, message):
    from typer.testing import CliRunner

    from tracefix.cli.main import app

    result = CliRunner().invoke(app, ["mcp", *arguments])
    assert result.exit_code == 2 and message in result.output

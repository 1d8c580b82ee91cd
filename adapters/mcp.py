"""The six tools over MCP: a FastMCP server built from any :class:`~tracefix.adapters.tools.ActionTools`.

Two places serve it:

* the OpenEnv server (``server/tracefix_rl_environment.py``): each session's environment carries
  one as ``mcp_server``, so OpenEnv's own ``/mcp`` route lists and calls the tools on that session
  (reset over ``/ws``, e.g. with ``openenv.core.mcp_client.MCPToolClient``);
* ``tracefix mcp`` (``cli/mcp.py``): a standalone MCP server (stdio or streamable HTTP) for agent
  harnesses, playing one episode through a :class:`~tracefix.adapters.trl_env.TraceFixToolEnv`.

Tool names and descriptions come from :mod:`tracefix.core.actions`.  Tools run in a worker thread:
a test run blocks for the sandbox, and the server's event loop must keep serving other sessions.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable

from fastmcp import FastMCP

from tracefix.adapters.tools import ActionTools
from tracefix.core.actions import ACTIONS
from tracefix.core.constants import ENV_NAME

MCP_INSTRUCTIONS = (
    "Debug a broken Python program: view_code, run_tests, replace_lines to edit, undo_edit or "
    "reset_to_original to go back, and submit when the tests pass (hidden tests decide the score)."
)


def _in_worker_thread(method: Callable[..., str]) -> Callable[..., Any]:
    """An async tool with ``method``'s signature and docs that runs it off the event loop."""

    @functools.wraps(method)
    async def run(**arguments: Any) -> str:
        return await asyncio.to_thread(method, **arguments)

    return run


def build_mcp_server(tools: ActionTools, name: str = ENV_NAME) -> FastMCP:
    """A FastMCP server whose tools are the six actions of ``tools``, described by the action table."""
    server = FastMCP(name, instructions=MCP_INSTRUCTIONS)
    for spec in ACTIONS:
        server.tool(_in_worker_thread(getattr(tools, spec.tool)), name=spec.tool, description=spec.description())
    return server


__all__ = ["MCP_INSTRUCTIONS", "build_mcp_server"]

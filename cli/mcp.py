"""``tracefix mcp``: one TraceFix episode as a standalone MCP server, for agent harnesses.

The harness launches it (stdio, the default) or connects to it (``--transport http``, streamable
HTTP at ``http://HOST:PORT/mcp``).  The episode starts before the server does; its opening text (task
description and numbered code) is the server's instructions, and the six tools play it.  With
``--url`` the episode runs on a TraceFix server instead of in-process.
"""

from __future__ import annotations

from typing import Optional

import typer

from tracefix.cli.console import fail


def mcp_command(
    task: Optional[str] = typer.Option(None, "--task", help="Task id (default: drawn by --seed)."),
    split: Optional[str] = typer.Option(None, help="Split to draw from, or of --index."),
    index: Optional[int] = typer.Option(None, help="Task at this index of --split."),
    seed: int = typer.Option(0, help="Seed of the task draw and episode id."),
    reward_mode: str = typer.Option("shaped", help="shaped, score or binary."),
    max_steps: Optional[int] = typer.Option(None, help="Step budget of the episode (default 50)."),
    url: Optional[str] = typer.Option(None, help="Play on this TraceFix server instead of in-process."),
    transport: str = typer.Option("stdio", help="stdio or http (streamable HTTP)."),
    host: str = typer.Option("127.0.0.1", help="Interface for --transport http."),
    port: int = typer.Option(8765, help="Port for --transport http."),
) -> None:
    """Serve one episode's six tools over MCP (stdio or streamable HTTP)."""
    from tracefix.adapters.mcp import MCP_INSTRUCTIONS, build_mcp_server
    from tracefix.adapters.trl_env import TraceFixToolEnv

    if transport not in ("stdio", "http"):
        raise fail(f"unknown transport {transport!r}; use stdio or http")
    selection = {"task_id": task, "split": split, "index": index, "seed": seed, "max_steps": max_steps}
    try:
        env = TraceFixToolEnv(base_url=url, reward_mode=reward_mode)
        opening = env.reset(**selection)
    except (ValueError, RuntimeError, OSError) as exc:
        raise fail(str(exc))
    server = build_mcp_server(env)
    server.instructions = f"{MCP_INSTRUCTIONS}\n\n{opening.strip()}"
    with env:
        if transport == "stdio":
            server.run(show_banner=False)
        else:
            server.run(transport="http", host=host, port=port, show_banner=False)

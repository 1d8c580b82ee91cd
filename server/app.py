"""FastAPI application serving TraceFix over HTTP and WebSocket with OpenEnv's ``create_app``.

Run it with ``uv run server`` (port 7860), ``uvicorn server.app:app --host 0.0.0.0 --port 7860``
(the container command) or ``tracefix serve``.  Multi-step episodes live on ``/ws`` (one environment
per connection); HTTP ``/reset`` and ``/step`` are stateless, as in every OpenEnv server.
"""

from __future__ import annotations

import argparse
import os
from typing import Optional, Sequence

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from openenv.core.env_server.http_server import create_app

from tracefix.core.constants import DEFAULT_HOST, DEFAULT_MAX_CONCURRENT_ENVS, DEFAULT_PORT, ENV_NAME
from tracefix.core.environment import ResetError
from tracefix.models import CodeAction, CodeObservation, TraceFixState
from tracefix.server.tracefix_rl_environment import TraceFixRLEnvironment
from tracefix.tasks.registry import UnknownTaskError


def max_concurrent_envs() -> int:
    """Session limit: ``TRACEFIX_MAX_CONCURRENT_ENVS`` or the default (64)."""
    raw = os.environ.get("TRACEFIX_MAX_CONCURRENT_ENVS", "")
    try:
        value = int(raw) if raw else DEFAULT_MAX_CONCURRENT_ENVS
    except ValueError:
        raise SystemExit(f"TRACEFIX_MAX_CONCURRENT_ENVS must be an integer, got {raw!r}") from None
    if value < 1:
        raise SystemExit("TRACEFIX_MAX_CONCURRENT_ENVS must be at least 1")
    return value


def build_app(max_sessions: Optional[int] = None) -> FastAPI:
    """Create the app; bad reset arguments and unknown tasks answer 400 with the reason, never 500."""
    application = create_app(
        TraceFixRLEnvironment,
        CodeAction,
        CodeObservation,
        env_name=ENV_NAME,
        max_concurrent_envs=max_sessions or max_concurrent_envs(),
        state_cls=TraceFixState,
    )

    async def bad_request(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc).strip("'\"")})

    application.add_exception_handler(ResetError, bad_request)
    application.add_exception_handler(UnknownTaskError, bad_request)
    return application


app = build_app()


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of ``uv run server`` / ``python -m server.app``."""
    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the TraceFix environment (OpenEnv, HTTP + WebSocket).")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument("--tasks-file", help="serve an extra split from this JSONL task file")
    args = parser.parse_args(argv)
    if args.tasks_file:
        from tracefix.server.tracefix_rl_environment import configure_registry
        from tracefix.tasks.registry import default_registry

        registry = default_registry()
        registry.add_file(args.tasks_file)
        configure_registry(registry)
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()

"""FastAPI application serving TraceFix over HTTP and WebSocket with OpenEnv's ``create_app``.

Run it with ``uv run server`` (port 7860), ``uvicorn server.app:app --host 0.0.0.0 --port 7860``
(the container command) or ``tracefix serve``.  Multi-step episodes live on ``/ws`` (one environment
per connection); HTTP ``/reset`` and ``/step`` are stateless, as in every OpenEnv server.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Iterator, Optional, Sequence

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from openenv.core.env_server.http_server import create_app
from starlette.exceptions import HTTPException as StarletteHTTPException

from tracefix.core.constants import (
    DEFAULT_HOST,
    DEFAULT_MAX_CONCURRENT_ENVS,
    DEFAULT_PORT,
    DEFAULT_SESSION_IDLE_TIMEOUT_S,
    ENV_NAME,
    WS_PER_MESSAGE_DEFLATE,
)
from tracefix.core.environment import ResetError
from tracefix.models import CodeAction, CodeObservation, TraceFixState
from tracefix.server.errors import compact_errors, error_text
from tracefix.server.lifetime import SessionLifetime
from tracefix.server.tracefix_rl_environment import TraceFixRLEnvironment
from tracefix.server.ws_guard import WebSocketGuard
from tracefix.tasks.registry import TaskRegistry, UnknownTaskError

if TYPE_CHECKING:
    from tracefix.sandbox import Sandbox


class SandboxStartupError(RuntimeError):
    """The sandbox settings are invalid, or nothing could run here: the server must not start."""


def check_sandbox() -> "Sandbox":
    """The sandbox this process will run programs in, checked before any request is served.

    An unknown tier or a malformed ``TRACEFIX_SANDBOX_*`` value, and a tier that refuses to run
    here, raise :class:`SandboxStartupError` with the reason (a server that cannot evaluate anything
    must not report healthy).
    """
    from tracefix.sandbox import SandboxConfigError, get_sandbox
    from tracefix.tasks.syntax_lane import syntax_pool_size

    try:
        sandbox = get_sandbox()
        syntax_pool_size()
    except SandboxConfigError as exc:
        raise SandboxStartupError(str(exc)) from None
    if sandbox.choice.refusal:
        raise SandboxStartupError(f"the sandbox refuses to run programs: {sandbox.choice.refusal}")
    return sandbox


async def _sandbox_ready() -> None:
    """Start-up hook: fail start-up on bad sandbox settings; log the tier in force; warm the pool."""
    log = logging.getLogger("uvicorn.error")
    try:
        sandbox = check_sandbox()
    except SandboxStartupError as exc:
        log.error("TraceFix cannot start: %s", exc)
        raise
    log.info("TraceFix sandbox: %s", sandbox.choice.describe())
    threading.Thread(target=sandbox.warm, name="tracefix-sandbox-warm", daemon=True).start()


def max_concurrent_envs() -> int:
    """Session limit: ``TRACEFIX_MAX_CONCURRENT_ENVS`` or the default (``DEFAULT_MAX_CONCURRENT_ENVS``)."""
    raw = os.environ.get("TRACEFIX_MAX_CONCURRENT_ENVS", "")
    try:
        value = int(raw) if raw else DEFAULT_MAX_CONCURRENT_ENVS
    except ValueError:
        raise SystemExit(f"TRACEFIX_MAX_CONCURRENT_ENVS must be an integer, got {raw!r}") from None
    if value < 1:
        raise SystemExit("TRACEFIX_MAX_CONCURRENT_ENVS must be at least 1")
    return value


def session_idle_timeout() -> Optional[float]:
    """Seconds a WebSocket session may stay silent before it is closed (``None``: never).

    ``TRACEFIX_SESSION_IDLE_TIMEOUT_S`` or the default; 0 turns the timeout off.
    """
    raw = os.environ.get("TRACEFIX_SESSION_IDLE_TIMEOUT_S", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_SESSION_IDLE_TIMEOUT_S
    except ValueError:
        raise SystemExit(f"TRACEFIX_SESSION_IDLE_TIMEOUT_S must be a number of seconds, got {raw!r}") from None
    if value != value or value < 0:
        raise SystemExit("TRACEFIX_SESSION_IDLE_TIMEOUT_S must be 0 (off) or a positive number of seconds")
    return value or None


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit; return the new soft limit.

    Every WebSocket session holds one file descriptor; a soft limit of 1024 (common) would refuse
    connections long before memory or threads run out.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


UVICORN_OPTIONS = {"ws_per_message_deflate": WS_PER_MESSAGE_DEFLATE}
"""What every way of serving the app passes to uvicorn (the container: ``--ws-per-message-deflate false``)."""

_WEB_FLAG = "ENABLE_WEB_INTERFACE"
_web_flag_lock = threading.Lock()


def web_enabled() -> bool:
    """OpenEnv's switch for the web page at ``/web``: ``ENABLE_WEB_INTERFACE`` = true, 1 or yes."""
    return os.environ.get(_WEB_FLAG, "false").strip().lower() in ("true", "1", "yes")


@contextlib.contextmanager
def _web_flag(enabled: Optional[bool]) -> Iterator[None]:
    """Let ``create_app`` see ``enabled`` (when given) as OpenEnv's flag, for this call only."""
    if enabled is None:
        yield
        return
    with _web_flag_lock:
        previous = os.environ.get(_WEB_FLAG)
        os.environ[_WEB_FLAG] = "true" if enabled else "false"
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(_WEB_FLAG, None)
            else:
                os.environ[_WEB_FLAG] = previous


def build_app(
    max_sessions: Optional[int] = None, web: Optional[bool] = None, idle_timeout_s: Optional[float] = None,
) -> FastAPI:
    """Create the app; bad reset arguments and unknown tasks answer 400 with the reason, never 500.

    ``web`` turns OpenEnv's Gradio page at ``/web`` on or off, with the TraceFix tab first (default:
    the ``ENABLE_WEB_INTERFACE`` environment variable, as for every OpenEnv server).
    ``idle_timeout_s`` closes WebSocket sessions silent for that long (default:
    :func:`session_idle_timeout`; 0 turns it off).
    """
    limit = max_sessions or max_concurrent_envs()
    idle = session_idle_timeout() if idle_timeout_s is None else (idle_timeout_s or None)
    raise_open_file_limit()
    gradio_builder = None
    if web if web is not None else web_enabled():
        from tracefix.web import build_tracefix_tab

        gradio_builder = build_tracefix_tab
    with _web_flag(web):
        application = create_app(
            TraceFixRLEnvironment,
            CodeAction,
            CodeObservation,
            env_name=ENV_NAME,
            max_concurrent_envs=limit,
            state_cls=TraceFixState,
            gradio_builder=gradio_builder,
            custom_tab_name="TraceFix",
            custom_tab_primary=True,
            title_override="TraceFix",
        )

    async def bad_request(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": error_text(exc)})

    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": compact_errors(exc.errors())})

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # OpenEnv answers an invalid action with HTTPException(422, detail=errors()): keep it small.
        if isinstance(exc.detail, list):
            return JSONResponse(status_code=exc.status_code, content={"detail": compact_errors(exc.detail)}, headers=exc.headers)
        return await http_exception_handler(request, exc)

    application.add_exception_handler(ResetError, bad_request)
    application.add_exception_handler(UnknownTaskError, bad_request)
    application.add_exception_handler(RequestValidationError, invalid_request)
    application.add_exception_handler(StarletteHTTPException, http_error)
    application.add_middleware(WebSocketGuard, path="/ws")
    application.router.on_startup.append(_sandbox_ready)
    application.add_middleware(SessionLifetime, path="/ws", idle_timeout_s=idle)

    @application.get("/capacity", tags=["Health"], summary="Sessions open and sandbox workers in use")
    def capacity() -> dict:
        """What this server holds now: for load balancers, monitoring and the load benchmarks."""
        from tracefix.sandbox import get_sandbox
        from tracefix.server.tracefix_rl_environment import open_sessions
        from tracefix.tasks.syntax_lane import syntax_sandbox

        return {
            "sessions": {"open": open_sessions(), "max": limit, "idle_timeout_s": idle},
            "sandbox": get_sandbox().pool_status(),
            "syntax_sandbox": syntax_sandbox().pool_status(),
        }

    return application


app = build_app()


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of ``uv run server`` / ``python -m server.app``."""
    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the TraceFix environment (OpenEnv, HTTP + WebSocket).")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument("--tasks-file", help="serve an extra split from this JSONL task file")
    parser.add_argument("--record", metavar="DIR", default=os.environ.get("TRACEFIX_RECORD_DIR") or None,
                        help="record every session's episodes as trajectory files in DIR (default: $TRACEFIX_RECORD_DIR)")
    parser.add_argument("--web", action="store_true",
                        help="serve the web page at /web (same as ENABLE_WEB_INTERFACE=true)")
    args = parser.parse_args(argv)
    try:
        check_sandbox()
    except SandboxStartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.tasks_file:
        from tracefix.server.tracefix_rl_environment import configure_registry

        configure_registry(registry_with_file(args.tasks_file))
    if args.record:
        from tracefix.server.tracefix_rl_environment import configure_recording

        configure_recording(args.record)
    application = build_app(web=True) if args.web and not web_enabled() else app
    uvicorn.run(application, host=args.host, port=args.port, **UVICORN_OPTIONS)


def registry_with_file(path: str) -> "TaskRegistry":
    """The default tasks plus the tasks of ``path``; on any problem the importer's report goes to
    stderr and the process exits with status 2 before serving anything."""
    from tracefix.corpus.importer import TaskFileRejected
    from tracefix.corpus.importer import registry_with_file as checked_registry

    try:
        return checked_registry(path)
    except TaskFileRejected as exc:
        for message in exc.messages:
            print(message, file=sys.stderr)
        print(f"error: not serving {path}: fix the lines above (the task format: docs/task-format.md)", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()

"""An in-process server on 127.0.0.1 for ``tracefix play``, ``inference.py`` and the tests.

It serves the same app as ``uvicorn server.app:app`` from a background thread, on a free port, so a
client talks to it over real HTTP and WebSocket exactly as it would to a remote deployment.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Iterator, Optional

import uvicorn

from tracefix.server.app import UVICORN_OPTIONS, build_app, check_sandbox


class EmbeddedServer:
    """Start with :meth:`start` (or use as a context manager); ``base_url`` is ``http://127.0.0.1:PORT``."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, max_sessions: Optional[int] = None, web: Optional[bool] = None,
        idle_timeout_s: Optional[float] = None,
    ) -> None:
        config = uvicorn.Config(
            build_app(max_sessions, web=web, idle_timeout_s=idle_timeout_s), host=host, port=port, log_level="warning",
            ws_ping_interval=None, lifespan="on", **UVICORN_OPTIONS
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="tracefix-embedded-server", daemon=True)
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> "EmbeddedServer":
        """Start serving; raises :class:`~tracefix.server.app.SandboxStartupError` (a RuntimeError
        with the reason) before starting when the sandbox settings are invalid or nothing can run."""
        check_sandbox()
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the embedded server failed to start (see the log above)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the embedded server did not start within {timeout_s:.0f} s")
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        if sockets:
            self.port = sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> "EmbeddedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def embedded_server(port: int = 0, max_sessions: Optional[int] = None, web: Optional[bool] = None) -> Iterator[str]:
    """Yield the base URL of a server running for the duration of the ``with`` block (``web``: the page at /web)."""
    with EmbeddedServer(port=port, max_sessions=max_sessions, web=web) as server:
        yield server.base_url

"""Close WebSocket sessions that went quiet, through OpenEnv's own teardown.

A trainer that crashes without closing its sockets, or holds environments it no longer uses, would
otherwise keep their sessions (an environment, a thread and a slot of ``max_concurrent_envs``) for
the life of the server.  OpenEnv has an idle reaper (``ConcurrencyConfig.session_timeout``), but it
destroys the environment and leaves the WebSocket open: the client goes on talking to a closed
environment, and a WebSocket session is never told.  This ASGI middleware does it the other way
round: when no message arrives for ``idle_timeout_s`` seconds between two requests, it closes the
socket (code 4000, the reason in the close frame) and hands OpenEnv's handler a disconnect, so the
handler's ``finally`` runs ``_destroy_session`` exactly as when a client leaves.

The clock runs only while the server waits for the client's next message (OpenEnv's handler asks
for it after answering the previous one), never while a step is executing.  WebSocket pings are
answered below the application and do not count as activity.  A client that vanishes without a
TCP close is caught earlier by uvicorn's keepalive pings (20 s by default).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, MutableMapping, Optional

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

IDLE_CLOSE_CODE = 4000
"""WebSocket close code of a session ended for being idle (4000-4999 are application codes)."""


class IdleSessionCloser:
    """ASGI middleware for the WebSocket at ``path``: end a session idle for ``idle_timeout_s``."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], path: str = "/ws",
                 idle_timeout_s: Optional[float] = None) -> None:
        self.app = app
        self.path = path
        self.idle_timeout_s = idle_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        timeout = self.idle_timeout_s
        if scope.get("type") != "websocket" or scope.get("path") != self.path or not timeout:
            await self.app(scope, receive, send)
            return
        state = {"accepted": False, "closed": False}

        async def timed_receive() -> Message:
            if not state["accepted"] or state["closed"]:
                return await receive()
            try:
                # Cancelling a pending receive loses no frame: uvicorn queues incoming events.
                return await asyncio.wait_for(receive(), timeout)
            except asyncio.TimeoutError:
                state["closed"] = True
                reason = f"session idle for more than {timeout:g} s"
                try:
                    await send({"type": "websocket.close", "code": IDLE_CLOSE_CODE, "reason": reason})
                except Exception:  # noqa: BLE001 - the client left at the same moment: a disconnect either way
                    pass
                return {"type": "websocket.disconnect", "code": IDLE_CLOSE_CODE, "reason": reason}

        async def tracking_send(message: Message) -> None:
            if state["closed"]:
                return  # closed here already: OpenEnv's own closing frame has nowhere to go
            if message.get("type") == "websocket.accept":
                state["accepted"] = True
            await send(message)

        await self.app(scope, timed_receive, tracking_send)

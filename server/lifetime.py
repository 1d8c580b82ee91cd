"""How a WebSocket session ends: when its client leaves (even mid-step), or when it goes quiet.

Two gaps in front of OpenEnv's ``/ws`` handler, closed by one thin ASGI middleware:

* **A client that vanishes mid-step.**  The step runs to its end (a sandbox run is bounded by its
  timeout), then OpenEnv's handler sends the answer into a closed socket; uvicorn raises
  ``ClientDisconnected``, the handler tries to send an error frame about it, that raises too, and
  the whole chain is logged as "Exception in ASGI application" once per vanished client.  The
  session was torn down anyway (the handler's ``finally``), so the noise hid nothing but real
  errors.  Here a send to a client that is gone is dropped quietly; the handler then reads the
  disconnect uvicorn queued and leaves through its normal path (``_destroy_session``).
* **A session that went quiet.**  A trainer that crashes without closing its sockets, or holds
  environments it no longer uses, would keep their sessions (an environment, a thread, a slot of
  ``max_concurrent_envs``) for the life of the server.  OpenEnv's own reaper
  (``ConcurrencyConfig.session_timeout``) destroys the environment but leaves the WebSocket open,
  so the client would go on talking to a closed environment.  Here, when no message arrives for
  ``idle_timeout_s`` seconds between two requests, the socket is closed (code 4000, the reason in
  the close frame) and the handler gets a disconnect, so OpenEnv's teardown runs exactly as when
  a client leaves.  The clock runs only while the server waits for the client's next message,
  never while a step executes; WebSocket pings are answered below the application and do not
  count as activity.  A client whose host vanished without a TCP close is caught earlier by
  uvicorn's keepalive pings (every 20 s by default).
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


class SessionLifetime:
    """ASGI middleware for the WebSocket at ``path``: quiet ends for vanished and idle clients.

    ``idle_timeout_s``: close a session after this long without a message (``None``: never).
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], path: str = "/ws",
                 idle_timeout_s: Optional[float] = None) -> None:
        self.app = app
        self.path = path
        self.idle_timeout_s = idle_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "websocket" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        timeout = self.idle_timeout_s
        state = {"accepted": False, "closed": False}

        async def timed_receive() -> Message:
            if not timeout or not state["accepted"] or state["closed"]:
                return await receive()
            try:
                # Cancelling a pending receive loses no frame: uvicorn queues incoming events.
                return await asyncio.wait_for(receive(), timeout)
            except asyncio.TimeoutError:
                state["closed"] = True
                reason = f"session idle for more than {timeout:g} s"
                try:
                    await send({"type": "websocket.close", "code": IDLE_CLOSE_CODE, "reason": reason})
                except OSError:  # the client left at the same moment: a disconnect either way
                    pass
                return {"type": "websocket.disconnect", "code": IDLE_CLOSE_CODE, "reason": reason}

        async def quiet_send(message: Message) -> None:
            if state["closed"]:
                return  # closed here already, or the client is gone: nobody to send to
            if message.get("type") == "websocket.accept":
                state["accepted"] = True
            try:
                await send(message)
            except OSError:
                # uvicorn's ClientDisconnected: the client left (perhaps mid-step).  The handler's
                # next receive returns the disconnect uvicorn queued, and the session ends normally.
                state["closed"] = True

        await self.app(scope, timed_receive, quiet_send)

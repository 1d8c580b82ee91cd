"""A thin ASGI layer in front of OpenEnv's ``/ws`` handler: bad frames get an error, the session lives on.

OpenEnv's handler (``openenv.core.env_server.http_server``) reads each frame with
``receive_text()`` and ``json.loads``, then calls ``.get`` on the result.  A binary frame, a JSON
array or number, JSON nested too deeply or holding an over-long integer, or a string with a lone
surrogate (``"\\ud800"``, which no UTF-8 text can carry) escaped that loop: the connection closed
and the running episode was lost.  This guard answers such frames itself, with an error in OpenEnv's
own format (``{"type": "error", "data": {"message", "code"}}``), and never passes them on, so the
session and its episode carry on.  It also shortens the error frames OpenEnv sends (see
:mod:`tracefix.server.errors`): a validation error no longer echoes the whole input back.

Nothing else changes: well-formed frames reach OpenEnv untouched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, MutableMapping, Optional

from openenv.core.env_server.types import WSErrorCode

from tracefix.server.errors import MAX_ERROR_MESSAGE_CHARS, compact_errors, safe_text, summarise_errors

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_KIND = {list: "array", str: "string", bool: "boolean", type(None): "null", int: "number", float: "number"}
_MESSAGE_SHAPE = 'a JSON object such as {"type": "step", "data": {"action_type": "VIEW_CODE"}}'


@dataclass(frozen=True)
class FrameProblem:
    code: WSErrorCode
    message: str

    def frame(self) -> str:
        return json.dumps({"type": "error", "data": {"message": self.message, "code": self.code.value}})


def _lone_surrogate(value: Any) -> Optional[str]:
    """Where the first string (key or value) that UTF-8 cannot encode is, described for a person."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((f"a key of {path or 'the message'}", key))
                stack.append((f"{path}.{key}" if path else str(key), child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return (
                    f"{safe_text(path or 'the message')} is not valid Unicode text: character {exc.start + 1} is a "
                    f"lone surrogate (\\u{ord(item[exc.start]):04x}); send the character itself or a complete surrogate pair"
                )
    return None


def frame_problem(message: Message) -> Optional[FrameProblem]:
    """Why OpenEnv's handler could not survive this frame, or ``None`` when it can."""
    text = message.get("text")
    if text is None:
        return FrameProblem(WSErrorCode.INVALID_JSON, f"binary frames are not accepted: send each message as a text frame holding {_MESSAGE_SHAPE}")
    try:
        value = json.loads(text)
    except RecursionError:
        return FrameProblem(WSErrorCode.INVALID_JSON, "Invalid JSON: the message is nested too deeply")
    except ValueError as exc:  # JSONDecodeError, and integers longer than Python converts
        return FrameProblem(WSErrorCode.INVALID_JSON, safe_text(f"Invalid JSON: {exc}", MAX_ERROR_MESSAGE_CHARS))
    if not isinstance(value, dict):
        kind = _JSON_KIND.get(type(value), type(value).__name__)
        return FrameProblem(WSErrorCode.INVALID_JSON, f"a message must be {_MESSAGE_SHAPE}, not a JSON {kind}")
    problem = _lone_surrogate(value)
    if problem is not None:
        return FrameProblem(WSErrorCode.VALIDATION_ERROR, problem)
    return None


def compact_error_frame(text: str) -> str:
    """An OpenEnv error frame with its echoed input cut down and its message naming the bad field."""
    try:
        frame = json.loads(text)
    except ValueError:
        return text
    data = frame.get("data") if isinstance(frame, dict) else None
    if not isinstance(data, dict):
        return text
    if isinstance(data.get("errors"), list):
        data["errors"] = compact_errors(data["errors"])
        summary = summarise_errors(data["errors"])
        if summary and data.get("message") == "Invalid message":
            data["message"] = f"Invalid message: {summary}"
    if isinstance(data.get("message"), str):
        data["message"] = safe_text(data["message"], MAX_ERROR_MESSAGE_CHARS)
    return json.dumps(frame, ensure_ascii=False)


class WebSocketGuard:
    """ASGI middleware for the OpenEnv session socket (``path``, default ``/ws``)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], path: str = "/ws") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "websocket" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return

        async def guarded_receive() -> Message:
            while True:
                message = await receive()
                if message.get("type") != "websocket.receive":
                    return message
                problem = frame_problem(message)
                if problem is None:
                    return message
                await send({"type": "websocket.send", "text": problem.frame()})

        async def compacting_send(message: Message) -> None:
            text = message.get("text") if message.get("type") == "websocket.send" else None
            if text is not None and text.startswith('{"type":"error"'):
                message = {**message, "text": compact_error_frame(text)}
            await send(message)

        await self.app(scope, guarded_receive, compacting_send)

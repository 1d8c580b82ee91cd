"""Small, safe error replies for both transports (HTTP and WebSocket).

Pydantic's ``errors()`` carries the offending ``input`` verbatim, and OpenEnv returns it as is: a
14 MB ``new_code_block`` used to come back as a 14 MB error.  These helpers keep an error reply to a
few kilobytes whatever the request held, and make every string in it encodable as UTF-8 (a lone
surrogate sent as ``"\\ud800"`` would otherwise make the reply itself fail).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional

from tracefix.core.constants import MAX_ERROR_ECHO_CHARS, MAX_ERROR_REPLY_ERRORS

MAX_ERROR_MESSAGE_CHARS = 4 * MAX_ERROR_ECHO_CHARS


def safe_text(text: str, limit: int = MAX_ERROR_ECHO_CHARS) -> str:
    """``text`` shortened to ``limit`` characters (saying how long it was) and made UTF-8 encodable."""
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text):,} characters in all)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def error_text(exc: BaseException) -> str:
    """The message of ``exc`` as a person should read it.

    ``str(KeyError("x"))`` is ``"'x'"``: for a KeyError the message is its argument.  Nothing else is
    stripped, so a message ending in a quoted name keeps its closing quote.
    """
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        return safe_text(exc.args[0], MAX_ERROR_MESSAGE_CHARS)
    return safe_text(str(exc), MAX_ERROR_MESSAGE_CHARS)


def _small(value: Any) -> Any:
    """A JSON-safe stand-in for an echoed value: scalars stay, long or nested values become an excerpt."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return safe_text(value)
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) <= MAX_ERROR_ECHO_CHARS and isinstance(value, (list, dict)):
        try:
            text.encode("utf-8")
            return value
        except UnicodeEncodeError:
            pass
    return safe_text(text)


def compact_errors(errors: Iterable[Any]) -> list[Any]:
    """Pydantic-style error dicts with every echoed value (``input``, ``ctx``) cut to a short excerpt."""
    errors = list(errors)
    compact: list[Any] = []
    for error in errors[:MAX_ERROR_REPLY_ERRORS]:
        if not isinstance(error, dict):
            compact.append(_small(error))
            continue
        item: dict[str, Any] = {}
        for key, value in error.items():
            if key == "loc" and isinstance(value, (list, tuple)):
                item[key] = [part if isinstance(part, int) else safe_text(str(part)) for part in value]
            elif key == "ctx" and isinstance(value, dict):
                item[key] = {str(k): _small(v) for k, v in value.items()}
            elif key in ("msg", "type", "url") and isinstance(value, str):
                item[key] = safe_text(value, MAX_ERROR_MESSAGE_CHARS)
            else:
                item[key] = _small(value)
        compact.append(item)
    if len(errors) > MAX_ERROR_REPLY_ERRORS:
        compact.append({"msg": f"... and {len(errors) - MAX_ERROR_REPLY_ERRORS} more error(s)"})
    return compact


def summarise_errors(errors: Iterable[Any]) -> Optional[str]:
    """``field: message; field: message`` for the first few errors, for a one-line error message."""
    parts = []
    for error in list(errors)[:3]:
        if isinstance(error, dict) and "msg" in error:
            location = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",))
            parts.append(f"{location}: {error['msg']}" if location else str(error["msg"]))
    return safe_text("; ".join(parts), MAX_ERROR_MESSAGE_CHARS) if parts else None

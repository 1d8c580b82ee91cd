"""Turning a language model's reply into a :class:`CodeAction`, robustly.

Models wrap their JSON in prose, Markdown fences or ``<think>`` blocks, use single quotes, or stop in
the middle of a string when they run out of tokens.  :func:`parse_action` tries, in order:

1. every JSON object found in the reply (think blocks removed, fences unwrapped, strings respected),
   last candidate with an ``action_type`` first;
2. the same candidates as Python literals (single quotes, ``True``/``None``);
3. a truncated object closed up (open string, brackets and braces completed);
4. a bare action name (``RUN_TESTS``) for the actions that take no fields.

Whatever is found is validated against :class:`CodeAction`; the error message of the first failure
is what the caller sends back to the model in its one repair retry.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any, Iterator, Optional

from pydantic import ValidationError

from tracefix.models import ActionType, CodeAction

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_UNCLOSED_THINK = re.compile(r"<(think|thinking|reasoning)>(?!.*</\1>).*", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_BARE_ACTION = re.compile(
    r"\b(" + "|".join(a.value for a in ActionType if a is not ActionType.REPLACE_LINES) + r")\b"
)
_KEY_ALIASES = {
    "action": "action_type",
    "type": "action_type",
    "actiontype": "action_type",
    "start": "start_line",
    "end": "end_line",
    "code": "new_code_block",
    "new_code": "new_code_block",
    "code_block": "new_code_block",
    "replacement": "new_code_block",
}


class ActionParseError(ValueError):
    """The reply holds no usable action; ``str(error)`` says why, for the repair prompt."""


def strip_thinking(text: str) -> str:
    """Remove ``<think>...</think>`` blocks (and an unterminated trailing one when JSON precedes it)."""
    cleaned = _THINK.sub(" ", text)
    unclosed = _UNCLOSED_THINK.search(cleaned)
    if unclosed is not None:
        before = cleaned[: unclosed.start()]
        inside = cleaned[unclosed.end(1) + 1 :]
        # An unterminated think block: the action is either before it or (truncated reasoning) inside.
        cleaned = before if "{" in before else inside
    return cleaned.strip()


def _balanced_objects(text: str) -> Iterator[tuple[str, bool]]:
    """Yield ``(candidate, complete)`` for each top-level ``{...}`` in ``text``, respecting strings.

    An object still open at the end of the text is yielded with ``complete=False``.
    """
    depth = 0
    start = -1
    quote: Optional[str] = None
    escaped = False
    for i, ch in enumerate(text):
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'" and depth > 0:
            quote = ch
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                yield text[start : i + 1], True
                start = -1
    if depth > 0 and start >= 0:
        yield text[start:], False


def _close_truncated(fragment: str) -> str:
    """Complete a JSON object cut off mid-way: close an open string, then open brackets and braces."""
    stack: list[str] = []
    in_string = False
    escaped = False
    for ch in fragment:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    repaired = fragment
    if escaped:
        repaired = repaired[:-1]
    if in_string:
        repaired += '"'
    repaired = re.sub(r",\s*$", "", repaired.rstrip())
    repaired = re.sub(r'(,|\{)\s*"[^"]*"\s*:?\s*$', r"\1", repaired)  # a dangling key
    repaired = re.sub(r",\s*$", "", repaired)
    return repaired + "".join(reversed(stack))


def _load(candidate: str) -> Optional[Any]:
    try:
        return json.loads(candidate)
    except (json.JSONDecodeError, ValueError):
        pass
    try:
        return ast.literal_eval(candidate)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    # JSON with Python/JS spellings (True/None, trailing commas).
    relaxed = re.sub(r",\s*([}\]])", r"\1", candidate)
    relaxed = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", relaxed)))
    try:
        return json.loads(relaxed)
    except (json.JSONDecodeError, ValueError):
        return None


def _normalise_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Accept the common misspellings of the field names (``action`` for ``action_type``...)."""
    if isinstance(data.get("action"), dict) and "action_type" not in data:
        data = dict(data["action"])
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).strip()
        canonical = _KEY_ALIASES.get(name.lower().replace("-", "_"), name)
        if canonical not in out:
            out[canonical] = value
    for name in ("start_line", "end_line"):
        value = out.get(name)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            out[name] = int(value.strip())
    return out


def candidate_objects(text: str) -> list[dict[str, Any]]:
    """Every dict found in ``text``, most plausible first (those with an action type, later ones first)."""
    cleaned = strip_thinking(text)
    sources = [m.group(1) for m in _FENCE.finditer(cleaned)] + [cleaned]
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for source in sources:
        for fragment, complete in _balanced_objects(source):
            attempts = [fragment] if complete else [_close_truncated(fragment)]
            for attempt in attempts:
                if attempt in seen:
                    continue
                seen.add(attempt)
                value = _load(attempt)
                if isinstance(value, dict):
                    found.append(_normalise_keys(value))
    with_type = [d for d in found if "action_type" in d]
    without = [d for d in found if "action_type" not in d]
    return list(reversed(with_type)) + without


def _first_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        message = str(err.get("msg", "invalid"))
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse_action(text: Optional[str]) -> CodeAction:
    """The action in a model reply; raises :class:`ActionParseError` saying what was wrong."""
    if text is None or not text.strip():
        raise ActionParseError("the reply was empty; answer with one JSON object such as {\"action_type\": \"RUN_TESTS\"}")
    first_error: Optional[str] = None
    for data in candidate_objects(text):
        try:
            return CodeAction.model_validate(data)
        except ValidationError as exc:
            if first_error is None:
                first_error = f"the JSON object is not a valid action ({_first_error(exc)})"
    if first_error is not None:
        raise ActionParseError(first_error)
    cleaned = strip_thinking(text)
    names = _BARE_ACTION.findall(cleaned)
    if len(set(names)) == 1:
        return CodeAction(action_type=ActionType(names[0]))
    raise ActionParseError(
        "no JSON object with an action_type was found in the reply; answer with exactly one JSON object"
    )


__all__ = ["ActionParseError", "candidate_objects", "parse_action", "strip_thinking"]

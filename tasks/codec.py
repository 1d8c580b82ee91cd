"""Decoding of tagged JSON values (docs/task-format.md, "Values") into plain built-in Python values.

This runs on the trusted side only.  Encoding happens inside the sandbox (``sandbox/harness.py``);
both follow the same table, and ``tests/tasks/test_codec.py`` checks they round-trip.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

_FLOATS = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
MAX_DEPTH = 100
"""Nesting beyond this is refused when decoding and never equal when comparing (the sandbox encodes
at most 50 levels; only a forged or hostile value is deeper)."""


class ValueDecodeError(ValueError):
    """A value does not follow the encoding table."""


def decode_value(encoded: Any, *, _path: str = "$") -> Any:
    """Turn an encoded JSON value into the Python value it stands for.

    Raises :class:`ValueDecodeError` naming the path of the offending part (``$[2].$tuple[0]``).
    ``{"$unsupported": ...}`` is *not* decodable: callers that read sandbox output check for it first.
    """
    return _decode(encoded, _path, 0)


def _decode(encoded: Any, _path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueDecodeError(f"{_path}: nested deeper than {MAX_DEPTH} levels")
    if encoded is None or type(encoded) in (bool, int, float, str):
        return encoded
    if type(encoded) is list:
        return [_decode(item, f"{_path}[{i}]", depth + 1) for i, item in enumerate(encoded)]
    if type(encoded) is not dict:
        raise ValueDecodeError(f"{_path}: unsupported JSON value of type {type(encoded).__name__}")
    tags = [key for key in encoded if isinstance(key, str) and key.startswith("$")]
    if not tags:
        return {key: _decode(value, f"{_path}.{key}", depth + 1) for key, value in encoded.items()}
    if len(encoded) != 1:
        raise ValueDecodeError(f"{_path}: a tagged value must have exactly one key, got {sorted(encoded)}")
    tag = tags[0]
    body = encoded[tag]
    where = f"{_path}.{tag}"
    if tag in ("$tuple", "$set", "$frozenset", "$dict"):
        if type(body) is not list:
            raise ValueDecodeError(f"{where}: expected a list")
        items = [_decode(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(body)]
        if tag == "$tuple":
            return tuple(items)
        if tag == "$dict":
            return _decode_pairs(items, where)
        try:
            return set(items) if tag == "$set" else frozenset(items)
        except TypeError as exc:
            raise ValueDecodeError(f"{where}: unhashable member ({exc})") from None
    if tag == "$float":
        if type(body) is not str or body not in _FLOATS:
            raise ValueDecodeError(f"{where}: expected 'inf', '-inf' or 'nan', got {body!r}")
        return _FLOATS[body]
    if tag == "$bytes":
        if type(body) is not str:
            raise ValueDecodeError(f"{where}: expected a base64 string")
        try:
            return base64.b64decode(body.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise ValueDecodeError(f"{where}: invalid base64 ({exc})") from None
    if tag == "$unsupported":
        raise ValueDecodeError(f"{where}: value of unsupported type {body!r}")
    raise ValueDecodeError(f"{_path}: unknown tag {tag!r}")


def _decode_pairs(items: list[Any], where: str) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for i, pair in enumerate(items):
        if type(pair) is not list or len(pair) != 2:
            raise ValueDecodeError(f"{where}[{i}]: expected a [key, value] pair")
        try:
            result[pair[0]] = pair[1]
        except TypeError as exc:
            raise ValueDecodeError(f"{where}[{i}]: unhashable key ({exc})") from None
    return result


def find_unsupported(encoded: Any) -> str | None:
    """Return the type name of the first ``$unsupported`` marker inside an encoded value, if any."""
    stack = [encoded]
    while stack:
        item = stack.pop()
        if type(item) is list:
            stack.extend(item)
        elif type(item) is dict:
            if len(item) == 1 and "$unsupported" in item:
                return str(item["$unsupported"])
            stack.extend(item.values())
    return None


def values_equal(got: Any, expected: Any, approx: float | None = None) -> bool:
    """Compare two decoded built-in values with ``==``, or with a relative tolerance for floats.

    The tolerance applies to floats at any depth inside lists, tuples and dict values.  NaN equals
    NaN here only when ``approx`` is given (``math.isclose`` says no, so it is handled explicitly).

    Never raises: ``got`` comes from candidate code, and a value that cannot be compared (too deep,
    an int too large for a float, anything that makes a comparison raise) is simply not equal.
    That is decided for every value alike, so whether a comparison "fails" tells nothing about the
    expected value.
    """
    try:
        return _equal(got, expected, approx, 0)
    except Exception:
        return False


def _equal(got: Any, expected: Any, approx: float | None, depth: int) -> bool:
    if depth > MAX_DEPTH:
        return False
    if approx is None:
        return bool(got == expected)
    if isinstance(expected, float) or (isinstance(got, float) and isinstance(expected, int)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return False
        got_f, expected_f = _as_float(got), _as_float(expected)
        if got_f is None or expected_f is None:
            return type(got) is int and type(expected) is int and got == expected
        if math.isnan(expected_f) or math.isnan(got_f):
            return math.isnan(expected_f) and math.isnan(got_f)
        return math.isclose(got_f, expected_f, rel_tol=approx, abs_tol=0.0) or got_f == expected_f
    if isinstance(expected, (list, tuple)):
        return (
            type(got) is type(expected)
            and len(got) == len(expected)
            and all(_equal(g, e, approx, depth + 1) for g, e in zip(got, expected))
        )
    if isinstance(expected, dict):
        return (
            type(got) is dict
            and got.keys() == expected.keys()
            and all(_equal(got[k], expected[k], approx, depth + 1) for k in expected)
        )
    return bool(got == expected)


def _as_float(value: int | float) -> float | None:
    """``float(value)``, or None for an int beyond the float range."""
    try:
        return float(value)
    except OverflowError:
        return None

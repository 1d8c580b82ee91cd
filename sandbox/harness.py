"""The child side: run one Program's tests and stream one frame per step to the result fd.

Self-contained and stdlib-only: the parent sends this source to each zygote at start (the sandbox
never mounts the project), where it is executed as a module *before* any candidate code exists, so
everything it captures at import time (the built-in exception classes, the original ``builtins``
dict, ``os.write``) is the genuine article.

Frames are ``4-byte big-endian length + JSON``; kinds (key ``t``):

* ``syntax``  the candidate does not compile (``line``, ``offset``, ``msg``, ``text``); nothing ran.
* ``step``    one step's outcome, bound to it by ``k`` = ``[test index, step index]``: ``ok`` plus
              ``v`` (encoded value, eval steps) or ``et``/``eb``/``em``/``tb``.
* ``mem``     a ``MemoryError`` stopped the run.
* ``end``     every test ran; ``n`` is the number of step frames sent.

The parent accepts step frames only in order, one per step: an extra, missing, repeated or
reordered frame fails the run from that step on (see ``protocol.assemble``), so a frame the
candidate writes to the fd can never move a result onto another step.
"""

from __future__ import annotations

import base64
import builtins
from builtins import (  # bound here so that a candidate patching builtins cannot break the harness
    BaseException, Exception, MemoryError, RecursionError, SyntaxError, SystemExit, ValueError,
    all, dict, getattr, isinstance, issubclass, len, list, str, type, vars,
)
import json
import linecache
import math
import os
import struct
import sys
import traceback
import types

CANDIDATE_FILENAME = "solution.py"
SETUP_FILENAME = "setup.py"
STEP_FILENAME = "<test>"
MAX_DEPTH = 50
MAX_ITEMS = 200_000
MAX_INT_BITS = 14_000  # ~4200 decimal digits: under CPython's default int->str limit (4300)
MAX_MESSAGE = 300
MAX_TRACEBACK = 4000
TB_FRAMES = 60
EXIT_OK = 0
EXIT_MEMORY = 86
EXIT_SYSEXIT = 87
EXIT_INTERNAL = 88

# Captured at import (in the zygote, before any candidate code): identity checks use these.
# Every name a built-in exception class is bound to, its own name first (OSError is also bound to
# IOError and EnvironmentError: a step expecting any of the three accepts FileNotFoundError).
_BUILTIN_EXCEPTIONS: dict = {}
for _name, _obj in vars(builtins).items():
    if isinstance(_obj, type) and issubclass(_obj, BaseException):
        _BUILTIN_EXCEPTIONS.setdefault(_obj, []).append(_name)
for _obj, _names in _BUILTIN_EXCEPTIONS.items():
    _names.sort(key=lambda n, own=_obj.__name__: (n != own, n))
    _BUILTIN_EXCEPTIONS[_obj] = tuple(_names)
del _name, _obj, _names
_BUILTINS_SNAPSHOT = dict(vars(builtins))
_BUILTIN_ITEMS = tuple(vars(builtins).items())
"""Immutable copy of the genuine builtins: every test step gets a fresh dict made from it."""
_os_write = os.write
_json_dumps = json.dumps
_pack = struct.pack
_type_name = type.__dict__["__name__"].__get__  # bypasses a metaclass's __name__
_NONE_T, _BOOL_T, _INT_T, _FLOAT_T, _STR_T = type(None), bool, int, float, str
_LIST_T, _TUPLE_T, _DICT_T, _SET_T, _FROZENSET_T, _BYTES_T = list, tuple, dict, set, frozenset, bytes


class _TooLarge(Exception):
    pass


class _Encoder:
    """Walks exact built-in types only: never calls a user ``__eq__``/``__hash__``/``__iter__``/``__repr__``."""

    def __init__(self, max_bytes: int) -> None:
        self.items = 0
        self.budget = max_bytes

    def _charge(self, n: int) -> None:
        self.items += 1
        self.budget -= n
        if self.items > MAX_ITEMS or self.budget < 0:
            raise _TooLarge()

    def enc(self, v, depth: int):
        if depth > MAX_DEPTH:
            raise _TooLarge()
        t = type(v)
        if v is None or t is _BOOL_T:
            self._charge(5)
            return v
        if t is _INT_T:
            if v.bit_length() > MAX_INT_BITS:
                raise _TooLarge()
            self._charge(v.bit_length() // 3 + 1)
            return v
        if t is _FLOAT_T:
            self._charge(24)
            if math.isfinite(v):
                return v
            return {"$float": "nan" if v != v else ("inf" if v > 0 else "-inf")}
        if t is _STR_T:
            self._charge(len(v) + 2)
            return v
        if t is _LIST_T:
            self._charge(2)
            return [self.enc(x, depth + 1) for x in list.__iter__(v)]
        if t is _TUPLE_T:
            self._charge(12)
            return {"$tuple": [self.enc(x, depth + 1) for x in tuple.__iter__(v)]}
        if t is _DICT_T:
            self._charge(2)
            pairs = list(dict.items(v))
            if all(type(k) is _STR_T and not k.startswith("$") for k, _ in pairs):
                return {k: self.enc(x, depth + 1) for k, x in pairs}
            return {"$dict": [[self.enc(k, depth + 1), self.enc(x, depth + 1)] for k, x in pairs]}
        if t is _SET_T or t is _FROZENSET_T:
            self._charge(10)
            items = [self.enc(x, depth + 1) for x in (set.__iter__(v) if t is _SET_T else frozenset.__iter__(v))]
            try:
                items.sort(key=lambda e: _json_dumps(e, sort_keys=True))
            except Exception:
                pass
            return {"$set" if t is _SET_T else "$frozenset": items}
        if t is _BYTES_T:
            self._charge(len(v) * 4 // 3 + 12)
            return {"$bytes": base64.b64encode(v).decode("ascii")}
        self._charge(20)
        return {"$unsupported": _type_name(t)}


def encode(value, max_bytes: int = 2 * 1024 * 1024, _encoder=_Encoder):
    """Encode a value as in TASK_FORMAT.md "Values"; anything else is ``{"$unsupported": ...}``."""
    try:
        return _encoder(max_bytes).enc(value, 0)
    except (_TooLarge, RecursionError, MemoryError):
        return {"$unsupported": "too large"}
    except Exception as e:  # defensive: the encoder must never take the harness down
        return {"$unsupported": "unencodable (%s)" % _type_name(type(e))}


class _Channel:
    """Writes frames to the result fd; a value frame over budget is downgraded, never dropped."""

    def __init__(self, fd: int, max_bytes: int) -> None:
        self.fd = fd
        self.max_bytes = max_bytes
        self.sent = 0
        self.steps = 0
        self.total_budget = max_bytes * 4

    def send(self, obj) -> None:
        data = _json_dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")
        if len(data) > self.max_bytes or self.sent + len(data) > self.total_budget:
            if "v" in obj:
                obj = dict(obj, v={"$unsupported": "too large"})
            elif "em" in obj:
                obj = dict(obj, em=str(obj.get("em", ""))[:MAX_MESSAGE], tb=None)
            data = _json_dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")
        buf = _pack(">I", len(data)) + data
        self.sent += len(buf)
        if obj.get("t") == "step":
            self.steps += 1
        view = memoryview(buf)
        while view:
            n = _os_write(self.fd, view)
            view = view[n:]


def _safe_str(e: BaseException) -> str:
    try:
        s = str(e)
    except BaseException:
        s = "<unprintable %s>" % _type_name(type(e))
    if type(s) is not str:
        s = "<unprintable>"
    if len(s) > MAX_MESSAGE:
        s = s[: MAX_MESSAGE - 3] + "..."
    return s


def _bases(e: BaseException) -> list:
    out = []
    for cls in type.__dict__["__mro__"].__get__(type(e)):
        names = _BUILTIN_EXCEPTIONS.get(cls) if type(cls) is type else None
        if names is not None:
            out.extend(names)
    return out


def _traceback(e: BaseException) -> str:
    """Frames of solution.py only (line numbers as in the candidate source) + 'ExcType: message'."""
    try:
        frames = [f for f in traceback.extract_tb(e.__traceback__, limit=-TB_FRAMES)
                  if f.filename == CANDIDATE_FILENAME]
        lines = ["Traceback (most recent call last):\n"] if frames else []
        lines += traceback.StackSummary.from_list(frames).format()
        if isinstance(e, SyntaxError) and e.filename == CANDIDATE_FILENAME:
            lines.append('  File "%s", line %s\n' % (CANDIDATE_FILENAME, e.lineno))
        lines.append("%s: %s" % (_type_name(type(e)), _safe_str(e)) if _safe_str(e) else _type_name(type(e)))
        text = "".join(lines)
    except BaseException:
        text = "%s: %s" % (_type_name(type(e)), _safe_str(e))
    if len(text) > MAX_TRACEBACK:
        text = "...\n" + text[-MAX_TRACEBACK:]
    return text


def _error_frame(e: BaseException, key: list) -> dict:
    return {"t": "step", "k": key, "ok": False, "et": _type_name(type(e)), "eb": _bases(e),
            "em": _safe_str(e), "tb": _traceback(e)}


def _register_source(filename: str, source: str) -> None:
    lines = source.splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    linecache.cache[filename] = (len(source), None, lines, filename)


def _test_namespace(module_ns: dict, names, builtin_items) -> dict:
    """The namespace the setup code and the steps run in.

    It holds the candidate module's values of exactly the names the *reference* module defines (the
    parent computes them from the reference; without them, the module's public names), so a
    candidate cannot slip its own ``all`` or ``sorted`` into the test expressions, and a pristine
    copy of the builtins, so patching the ``builtins`` module does not reach them either.
    """
    picked = _public_names(module_ns) if names is None else {n: module_ns[n] for n in names if n in module_ns}
    picked["__builtins__"] = dict(builtin_items)
    return picked


def _public_names(ns: dict) -> dict:
    names = None
    if "__all__" in ns:
        try:
            names = [n for n in list(ns["__all__"]) if type(n) is str and n in ns]
        except BaseException:
            names = None
    if names is None:
        names = [n for n in ns if type(n) is str and not n.startswith("_")]
    return {n: ns[n] for n in names}


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _flush() -> None:
    for s in (sys.__stdout__, sys.__stderr__):
        try:
            s.flush()
        except BaseException:
            pass


def _restore_process_state(stdout, stderr) -> None:
    """Undo what one test may have changed in shared interpreter state (builtins, std streams)."""
    d = vars(builtins)
    d.clear()
    d.update(_BUILTINS_SNAPSHOT)
    sys.stdout, sys.stderr = stdout, stderr
    sys.modules.pop("solution", None)


def run(request: dict, result_fd: int) -> int:
    """Run every test of ``request`` and return the exit code for the child.

    ``request`` keys: ``code``, ``setup_code``, ``tests`` (list of lists of ``[kind, source]``),
    ``names`` (the names the test namespace takes from the module, or absent), ``max_result_bytes``.

    What the loop calls is bound here, before any candidate code exists in this process: rebinding
    the harness module's attributes afterwards changes nothing below.  (A program can still bend
    its own run in deeper ways; see the README's sandbox section for why that gains it nothing.)
    """
    max_bytes = int(request.get("max_result_bytes", 2 * 1024 * 1024))
    chan = _Channel(result_fd, max_bytes)
    kit = (chan.send, encode, _error_frame, _memory, _BUILTIN_ITEMS, max_bytes)
    run_test, flush, restore = _run_test, _flush, _restore_process_state
    code = request["code"]
    setup = request.get("setup_code") or ""
    names = request.get("names")
    names = tuple(n for n in names if type(n) is str) if isinstance(names, list) else None
    try:
        module_code = compile(code, CANDIDATE_FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        chan.send({"t": "syntax", "line": getattr(e, "lineno", None), "offset": getattr(e, "offset", None),
                   "msg": getattr(e, "msg", None) or str(e), "text": getattr(e, "text", None)})
        return EXIT_OK
    _register_source(CANDIDATE_FILENAME, code)
    setup_code = setup_error = None
    if setup.strip():
        try:
            setup_code = compile(setup, SETUP_FILENAME, "exec", dont_inherit=True)
            _register_source(SETUP_FILENAME, setup)
        except (SyntaxError, ValueError) as e:
            setup_error = e
    stdout, stderr = sys.stdout, sys.stderr
    try:
        for test_index, steps in enumerate(request["tests"]):
            if not steps:
                continue
            try:
                run_test(kit, module_code, setup_code, setup_error, steps, test_index, names)
            finally:
                flush()
                restore(stdout, stderr)
    except _Exit as x:
        flush()
        return x.code
    kit[0]({"t": "end", "n": chan.steps})
    return EXIT_OK


def _run_test(kit, module_code, setup_code, setup_error, steps, test_index: int, names) -> None:
    send, encode_value, error_frame, memory, builtin_items, max_bytes = kit
    mod = types.ModuleType("solution")
    sys.modules["solution"] = mod
    try:
        try:
            exec(module_code, mod.__dict__)
            if setup_error is not None:
                raise setup_error
            ns = _test_namespace(mod.__dict__, names, builtin_items)
            if setup_code is not None:
                exec(setup_code, ns)
        except SystemExit:
            raise _Exit(EXIT_SYSEXIT)
        except MemoryError as e:
            memory(send, e, [test_index, 0])
        except BaseException as e:
            # The module (or setup) failed: every step of this test reports that error (one frame
            # per step, each bound to its step).
            for step_index in range(len(steps)):
                send(error_frame(e, [test_index, step_index]))
            return
        for step_index, (kind, source) in enumerate(steps):
            key = [test_index, step_index]
            ns["__builtins__"] = dict(builtin_items)  # whatever an earlier step did to them
            try:
                if kind == "eval":
                    value = eval(compile(source, STEP_FILENAME, "eval", dont_inherit=True), ns)
                    frame = {"t": "step", "k": key, "ok": True, "v": encode_value(value, max_bytes)}
                    value = None
                else:
                    exec(compile(source, STEP_FILENAME, "exec", dont_inherit=True), ns)
                    frame = {"t": "step", "k": key, "ok": True}
            except SystemExit:
                raise _Exit(EXIT_SYSEXIT)
            except MemoryError as e:
                memory(send, e, key)
            except BaseException as e:
                # Keep going: a step that raises may be one that *expects* an exception (TASK_FORMAT
                # "raises"), and the sandbox must never learn which steps do. The grader, outside,
                # stops at the first step that does not match its expectation.
                _flush()
                send(error_frame(e, key))
                continue
            _flush()
            send(frame)
    except _Exit:
        raise
    except MemoryError as e:  # raised while encoding / reporting
        memory(send, e, None)


def _memory(send, e: BaseException, key) -> None:
    """Report the step as MemoryError, then stop the run: the address-space limit was hit."""
    try:
        if key is not None:
            send({"t": "step", "k": key, "ok": False, "et": "MemoryError",
                  "eb": ["MemoryError", "Exception", "BaseException"], "em": _safe_str(e), "tb": None})
        send({"t": "mem"})
    except BaseException:
        pass
    raise _Exit(EXIT_MEMORY)

"""Parent side of the wire: frame parsing, output tail, and turning what came back into an Execution.

The child is untrusted, so everything here is defensive: frames are bounded, malformed input is a
``protocol error`` (CRASHED), results are assigned to (test, step) by *order* (frames carry no index),
extra frames are ignored, and a run counts as complete only when every requested step has a result
and the harness said ``end`` and the child exited with status 0.
"""

from __future__ import annotations

import json
import os
import signal
import struct
from typing import Any, Dict, List, Optional

from tracefix.core.constants import MAX_OUTPUT_CHARS, TRUNCATION_MARKER

from .types import (
    Execution,
    Program,
    RunStatus,
    StepOutcome,
    SyntaxErrorInfo,
    TestOutcome,
)

EXIT_MEMORY = 86  # must match harness.EXIT_MEMORY
EXIT_SYSEXIT = 87
EXIT_INTERNAL = 88

_CONT_BYTES = bytes(range(0x80, 0xC0))


def encode_frame(obj: Any) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(data)) + data


class ProtocolError(Exception):
    pass


class FrameReader:
    """Incremental reader of ``length + JSON`` frames with a total byte budget."""

    def __init__(self, max_frame: int, max_total: int) -> None:
        self.buf = bytearray()
        self.frames: List[dict] = []
        self.max_frame = max_frame
        self.max_total = max_total
        self.total = 0
        self.over_limit = False
        self.error: Optional[str] = None

    def feed(self, data: bytes) -> None:
        if self.over_limit or self.error:
            return  # keep draining the pipe, but stop storing
        self.total += len(data)
        if self.total > self.max_total:
            self.over_limit = True
            self.buf.clear()
            return
        self.buf += data
        while len(self.buf) >= 4:
            n = struct.unpack(">I", self.buf[:4])[0]
            if n > self.max_frame:
                self.over_limit = True
                self.buf.clear()
                return
            if len(self.buf) < 4 + n:
                return
            raw = bytes(self.buf[4:4 + n])
            del self.buf[:4 + n]
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError):
                self.error = "protocol error: malformed frame"
                return
            if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
                self.error = "protocol error: malformed frame"
                return
            self.frames.append(obj)

    def finish(self) -> None:
        if self.buf and not (self.over_limit or self.error):
            self.error = "protocol error: truncated frame"


class OutputTail:
    """Keeps the tail of the candidate's stdout+stderr without ever holding more than a few KiB."""

    def __init__(self, max_chars: int = MAX_OUTPUT_CHARS) -> None:
        self.max_chars = max_chars
        self.keep_bytes = max_chars * 4 + 8
        self.tail = bytearray()
        self.total_bytes = 0
        self.total_chars = 0

    def feed(self, data: bytes) -> None:
        self.total_bytes += len(data)
        # chars of UTF-8 = bytes that are not continuation bytes (exact for valid UTF-8)
        self.total_chars += len(data.translate(None, _CONT_BYTES))
        self.tail += data[-self.keep_bytes:]
        if len(self.tail) > 2 * self.keep_bytes:
            del self.tail[: len(self.tail) - self.keep_bytes]

    def text(self) -> str:
        if self.total_bytes <= len(self.tail):
            s = bytes(self.tail).decode("utf-8", errors="replace")
            total = len(s)
        else:
            s = bytes(self.tail[-self.keep_bytes:]).decode("utf-8", errors="replace")
            total = max(self.total_chars, len(s))
        if total <= self.max_chars:
            return s
        kept = s[-self.max_chars:]
        return TRUNCATION_MARKER.format(kept=len(kept), total=total) + kept


def _str_or_none(v: Any, limit: int = 10_000) -> Optional[str]:
    return v[:limit] if isinstance(v, str) else None


def _step_from_frame(f: dict, kind: str) -> StepOutcome:
    if f.get("ok") is True:
        return StepOutcome(ok=True, value=f.get("v") if kind == "eval" else None)
    bases = f.get("eb")
    bases_t = tuple(b for b in bases if isinstance(b, str))[:64] if isinstance(bases, list) else ()
    return StepOutcome(
        ok=False,
        error_type=_str_or_none(f.get("et"), 200) or "Exception",
        error_bases=bases_t,
        error_message=_str_or_none(f.get("em"), 1000),
        traceback=_str_or_none(f.get("tb")),
    )


def signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return "signal %d" % sig


def assemble(
    program: Program,
    reader: FrameReader,
    output: OutputTail,
    *,
    done: Optional[Dict[str, Any]],
    timeout_s: float,
    cpu_limit: float,
    memory_mb: int,
    worker_died: bool,
    parent_timed_out: bool,
    tier: str,
    wall_s: float,
) -> Execution:
    """Decide status and detail from the frames and the child's fate."""
    tests: List[TestOutcome] = []
    ex = Execution(status=RunStatus.OK, tests=tests, output=output.text(), wall_s=wall_s, tier=tier)
    frames = reader.frames
    if frames and frames[0].get("t") == "syntax":
        f = frames[0]
        line, off = f.get("line"), f.get("offset")
        ex.status = RunStatus.SYNTAX_ERROR
        ex.syntax_error = SyntaxErrorInfo(
            line=line if isinstance(line, int) else None,
            offset=off if isinstance(off, int) else None,
            message=_str_or_none(f.get("msg"), 1000) or "invalid syntax",
            text=_str_or_none(f.get("text"), 1000),
        )
        ex.detail = "syntax error at line %s: %s" % (ex.syntax_error.line, ex.syntax_error.message)
        return ex

    # Assign step frames by order.
    ti, si = 0, 0
    ended = memory = False
    protocol_error = reader.error

    def skip_empty(ti: int) -> int:
        while ti < len(program.tests) and not program.tests[ti].steps:
            tests.append(TestOutcome(name=program.tests[ti].name))
            ti += 1
        return ti

    ti = skip_empty(ti)
    for f in frames:
        t = f.get("t")
        if t == "step":
            if ti >= len(program.tests):
                continue  # extra frames are ignored
            test = program.tests[ti]
            if si == 0:
                tests.append(TestOutcome(name=test.name))
            outcome = _step_from_frame(f, test.steps[si].kind)
            tests[-1].steps.append(outcome)
            si += 1
            if si >= len(test.steps):  # one frame per step, failed or not (see harness._run_test)
                ti, si = skip_empty(ti + 1), 0
        elif t == "end":
            ended = True
            break
        elif t == "mem":
            memory = True
            break
        elif t == "syntax":
            protocol_error = protocol_error or "protocol error: unexpected syntax frame"
        else:
            protocol_error = protocol_error or "protocol error: unknown frame"
    complete = ti >= len(program.tests)

    status = done.get("status") if done else None
    status = status if isinstance(status, int) else None
    cpu = done.get("cpu", 0.0) if done else 0.0
    cpu = cpu if isinstance(cpu, (int, float)) else 0.0

    if reader.over_limit:
        ex.status, ex.detail = RunStatus.OUTPUT_LIMIT, "result channel limit exceeded"
    elif (done and done.get("timed_out")) or parent_timed_out:
        ex.status, ex.detail = RunStatus.TIMEOUT, "timed out after %g s" % timeout_s
    elif worker_died or status is None:
        ex.status, ex.detail = RunStatus.CRASHED, "sandbox worker died during the run"
    elif protocol_error:
        ex.status, ex.detail = RunStatus.CRASHED, protocol_error
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= cpu_limit - 0.05):
            ex.status, ex.detail = RunStatus.TIMEOUT, "CPU time limit (%g s) exceeded" % cpu_limit
        else:
            ex.status, ex.detail = RunStatus.CRASHED, "killed by %s" % signal_name(sig)
    elif memory or os.WEXITSTATUS(status) == EXIT_MEMORY:
        ex.status, ex.detail = RunStatus.MEMORY, "memory limit (%d MB) exceeded" % memory_mb
    elif os.WEXITSTATUS(status) != 0 or not ended or not complete:
        code = os.WEXITSTATUS(status)
        if not complete or not ended:
            how = "exited with code %d" % (code,)
            if code == EXIT_SYSEXIT:
                how = "called sys.exit()"
            elif code == EXIT_INTERNAL:
                how = "sandbox harness failed"
            ex.detail = "%s before reporting every step (missing results)" % how
        else:
            ex.detail = "exited with code %d" % code
        ex.status = RunStatus.CRASHED
    return ex

"""Parent side of the wire: frame parsing, output tail, and turning what came back into an Execution.

The child is untrusted, so everything here is defensive: frames are bounded in size and number,
malformed input is a ``protocol error`` (CRASHED), every step frame names the (test, step) it
belongs to and is accepted only if it is exactly the next one expected, and a run counts as
complete only when every requested step has a result, the harness said ``end`` and the child exited
with status 0.  An extra, repeated, skipped or reordered frame fails the run from the earliest step
it touches: a result can never be moved onto another step.
"""

from __future__ import annotations

import json
import os
import signal
import struct
from typing import Any, Dict, List, Optional, Tuple

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
EXIT_CONFINE = 89  # must match zygote.EXIT_CONFINE: the run child could not confine itself

_CONT_BYTES = bytes(range(0x80, 0xC0))


def encode_frame(obj: Any) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(data)) + data


class ProtocolError(Exception):
    pass


class FrameReader:
    """Incremental reader of ``length + JSON`` frames with a byte budget and a frame budget.

    ``max_frames`` is what an honest run sends (one frame per step, plus ``end`` or ``mem``); once a
    run goes past it, or past ``max_total`` bytes, the reader stops (``over_limit``) and the caller
    stops reading, so a flood costs the server a handful of parses, not one per frame sent.
    """

    def __init__(self, max_frame: int, max_total: int, max_frames: int = 1 << 30) -> None:
        self.buf = bytearray()
        self.frames: List[dict] = []
        self.max_frame = max_frame
        self.max_total = max_total
        self.max_frames = max_frames
        self.total = 0
        self.over_limit = False
        self.too_many_frames = False
        self.error: Optional[str] = None

    @property
    def stopped(self) -> bool:
        """True once nothing more will be read (limit reached or a malformed frame)."""
        return self.over_limit or self.error is not None

    def feed(self, data: bytes) -> None:
        if self.over_limit or self.error:
            return
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
            if len(self.frames) >= self.max_frames:
                self.over_limit = self.too_many_frames = True
                self.buf.clear()
                return
            self.frames.append(obj)

    def finish(self) -> None:
        if self.buf and not (self.over_limit or self.error):
            self.error = "protocol error: truncated frame"


class OutputTail:
    """Keeps the tail of the candidate's stdout+stderr without ever holding more than a few KiB.

    Past ``max_bytes`` in total the run has printed more than anyone will read: ``over_limit`` is
    set and the caller stops reading (the run then dies of SIGPIPE on its next write).
    """

    def __init__(self, max_chars: int = MAX_OUTPUT_CHARS, max_bytes: int = 1 << 62) -> None:
        self.max_chars = max_chars
        self.max_bytes = max_bytes
        self.keep_bytes = max_chars * 4 + 8
        self.tail = bytearray()
        self.total_bytes = 0
        self.total_chars = 0
        self.over_limit = False

    def feed(self, data: bytes) -> None:
        if self.over_limit:
            return
        self.total_bytes += len(data)
        if self.total_bytes > self.max_bytes:
            self.over_limit = True
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


def _key(frame: dict) -> Optional[Tuple[int, int]]:
    k = frame.get("k")
    if isinstance(k, list) and len(k) == 2 and all(type(x) is int for x in k):
        return (k[0], k[1])
    return None


def _bind_steps(program: Program, frames: List[dict]) -> Tuple[List[Tuple[Tuple[int, int], dict]], Optional[str], bool, bool]:
    """Match step frames to the program's steps strictly in order.

    Returns ``(accepted, protocol_error, ended, memory)`` where ``accepted`` lists ``(key, frame)``
    for the steps that have a trustworthy result.  At the first frame that is not exactly the next
    expected step (repeated, skipped, unknown, unindexed, or after ``end``), results are dropped from
    the earliest step that frame touches, and nothing after it is accepted.
    """
    order = [(ti, si) for ti, t in enumerate(program.tests) for si in range(len(t.steps))]
    position = {key: i for i, key in enumerate(order)}
    accepted: List[Tuple[Tuple[int, int], dict]] = []
    ended = memory = False
    error: Optional[str] = None
    for f in frames:
        t = f.get("t")
        if ended or memory:
            error = "protocol error: frame after the end of the run"
            break
        if t == "step":
            key = _key(f)
            expected = len(accepted)
            if key is None or key not in position:
                error = "protocol error: a result for an unknown step"
                break
            if position[key] != expected:
                del accepted[min(position[key], expected):]
                error = "protocol error: results out of order (an extra, repeated or missing frame)"
                break
            accepted.append((key, f))
        elif t == "end":
            n = f.get("n")
            if n != len(accepted):
                error = "protocol error: the run ended with a result count that does not match"
                break
            ended = True
        elif t == "mem":
            memory = True
        elif t == "syntax":
            error = "protocol error: unexpected syntax frame"
            break
        else:
            error = "protocol error: unknown frame"
            break
    return accepted, error, ended, memory


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
    tests: List[TestOutcome] = [TestOutcome(name=t.name) for t in program.tests]
    ex = Execution(status=RunStatus.OK, tests=tests, output=output.text(), wall_s=wall_s, tier=tier)
    frames = reader.frames
    if frames and frames[0].get("t") == "syntax" and not reader.stopped:
        f = frames[0]
        line, off = f.get("line"), f.get("offset")
        ex.tests = []
        ex.status = RunStatus.SYNTAX_ERROR
        ex.syntax_error = SyntaxErrorInfo(
            line=line if isinstance(line, int) else None,
            offset=off if isinstance(off, int) else None,
            message=_str_or_none(f.get("msg"), 1000) or "invalid syntax",
            text=_str_or_none(f.get("text"), 1000),
        )
        ex.detail = "syntax error at line %s: %s" % (ex.syntax_error.line, ex.syntax_error.message)
        return ex

    accepted, protocol_error, ended, memory = _bind_steps(program, frames)
    protocol_error = reader.error or protocol_error
    for (ti, si), f in accepted:
        tests[ti].steps.append(_step_from_frame(f, program.tests[ti].steps[si].kind))
    ex.tests = [outcome for outcome, spec in zip(tests, program.tests) if outcome.steps or not spec.steps]
    complete = len(accepted) == sum(len(t.steps) for t in program.tests)

    status = done.get("status") if done else None
    status = status if isinstance(status, int) else None
    cpu = done.get("cpu", 0.0) if done else 0.0
    cpu = cpu if isinstance(cpu, (int, float)) else 0.0

    if reader.too_many_frames:
        ex.status, ex.detail = RunStatus.CRASHED, "protocol error: more result frames than steps"
    elif reader.over_limit:
        ex.status, ex.detail = RunStatus.OUTPUT_LIMIT, "result channel limit exceeded"
    elif output.over_limit:
        ex.status, ex.detail = RunStatus.OUTPUT_LIMIT, "output limit (%d MB) exceeded" % (output.max_bytes >> 20)
    elif (done and done.get("timed_out")) or parent_timed_out:
        if parent_timed_out:
            ex.status, ex.detail = RunStatus.SANDBOX_ERROR, "the sandbox did not answer in time"
        else:
            ex.status, ex.detail = RunStatus.TIMEOUT, "timed out after %g s" % timeout_s
    elif worker_died or status is None:
        ex.status, ex.detail = RunStatus.SANDBOX_ERROR, "sandbox worker died during the run"
    elif protocol_error:
        ex.status, ex.detail = RunStatus.CRASHED, protocol_error
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= cpu_limit - 0.05):
            ex.status, ex.detail = RunStatus.TIMEOUT, "CPU time limit (%g s) exceeded" % cpu_limit
        else:
            ex.status, ex.detail = RunStatus.CRASHED, "killed by %s" % signal_name(sig)
    elif os.WEXITSTATUS(status) == EXIT_CONFINE:
        ex.status, ex.detail = RunStatus.SANDBOX_ERROR, "the run could not be confined"
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

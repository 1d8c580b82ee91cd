"""A sandbox pool of its own for the compile check of an edit, so edits never queue behind test runs.

REPLACE_LINES (and an edit's reward) needs to know whether the new program compiles.  Compiling
untrusted source in the server process is not an option (a crafted program can exhaust the parser
for seconds, or its memory), so the check runs in the sandbox, like a test run with no tests.  On
the shared pool it waited behind every queued test run: with 256 sessions on two workers an edit
took as long as a RUN_TESTS (1.6 s, bench/load.py).  A compile check costs the sandbox about a
millisecond of work, so it gets a small pool of its own (same tier, same limits) and a short
timeout: a parser bomb holds one of these workers for ``SYNTAX_CHECK_TIMEOUT_S`` at most and never
a test worker.

``TRACEFIX_SYNTAX_POOL_SIZE`` sets its size (default: one worker per 8 cores, at least one); 0
makes compile checks share the test pool (as before this lane existed).

What the lane buys is measured by bench/load.py: while every test worker is held by slow runs (a
policy writing infinite loops holds a worker for the whole run timeout, without using the CPU), an
edit is answered in milliseconds instead of waiting for those runs.  When the CPU itself is
saturated, compile checks wait for it like everything else.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from tracefix.sandbox import Sandbox

_lock = threading.Lock()
_lane: "Optional[Sandbox]" = None


def syntax_pool_size() -> int:
    """``TRACEFIX_SYNTAX_POOL_SIZE``, or one worker per 8 cores (at least one); 0: share the test pool."""
    from tracefix.sandbox import SandboxConfigError

    raw = os.environ.get("TRACEFIX_SYNTAX_POOL_SIZE", "").strip()
    if not raw:
        return max(1, (os.cpu_count() or 1) // 8)
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise SandboxConfigError(
            f"TRACEFIX_SYNTAX_POOL_SIZE={raw!r} is invalid; expected a positive integer (0: share the test pool)")
    return value


def syntax_sandbox() -> "Sandbox":
    """The process-wide sandbox for compile checks (created on first use, closed at exit)."""
    global _lane
    from tracefix.sandbox import Sandbox, SandboxConfig, get_sandbox

    size = syntax_pool_size()
    if size == 0:
        return get_sandbox()
    with _lock:
        if _lane is None or _lane.closed:
            _lane = Sandbox(SandboxConfig(pool_size=size))
            atexit.register(_lane.close)
        return _lane

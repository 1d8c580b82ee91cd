"""The public entry point: :class:`Sandbox` (a pool of warm zygotes at one tier) and :func:`get_sandbox`."""

from __future__ import annotations

import atexit
import json
import logging
import math
import threading
import time
from typing import Any, Dict, Optional

from tracefix.core.constants import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S

from . import detect
from .config import TIERS, SandboxConfig
from .pool import Pool, WorkerStartError
from .protocol import assemble
from .types import Execution, Program, RunStatus

log = logging.getLogger("tracefix.sandbox")

MAX_REQUEST_BYTES = 16 * 1024 * 1024


class Sandbox:
    """Runs candidate programs in isolated, resource-limited, short-lived processes.

    ``execute`` is thread-safe and never raises for anything the candidate does: every failure comes
    back as an :class:`Execution` with a status and a ``detail``.
    """

    def __init__(self, config: Optional[SandboxConfig] = None) -> None:
        self.config = config or SandboxConfig()
        self._refusal: Optional[str] = None
        self._pool: Optional[Pool] = None
        self._closed = False
        requested = (self.config.tier or "auto").lower()
        caps = detect.capabilities()
        if requested not in TIERS:
            tier = "none"
            self._refusal = "unknown sandbox tier %r (expected one of %s)" % (requested, ", ".join(TIERS))
        elif requested == "auto":
            tier = caps["best"]
            log.info("tracefix sandbox: auto-selected tier %r (%s)", tier, caps["tiers"][tier]["detail"])
        else:
            tier = requested
            info = caps["tiers"][tier]
            if not info["available"]:
                self._refusal = "sandbox tier %r is not available on this host: %s" % (tier, info["detail"])
        if tier == "none" and self._refusal is None:
            if not self.config.allow_unsandboxed:
                self._refusal = (
                    "no sandbox isolation available (tier 'none') and unsandboxed runs are not allowed; "
                    "install bubblewrap or set TRACEFIX_ALLOW_UNSANDBOXED=1")
            else:
                log.warning("!!! tracefix sandbox: running UNTRUSTED code WITHOUT ISOLATION (tier 'none', "
                            "rlimits only) because allow_unsandboxed is set !!!")
        if self._refusal:
            log.error("tracefix sandbox refuses to run: %s", self._refusal)
        self.tier = tier
        if self._refusal is None:
            self._pool = Pool(tier, self.config.pool_size, {
                "sandbox_uid": self.config.sandbox_uid,
                "tmpfs_mb": self.config.tmpfs_mb,
                "preimport": None,
                "limits": {
                    "memory_mb": self.config.memory_mb,
                    "max_processes": self.config.max_processes,
                    "max_file_mb": self.config.max_file_mb,
                    "max_open_files": self.config.max_open_files,
                },
            })

    # --- API ---------------------------------------------------------------------------------------
    def execute(self, program: Program) -> Execution:
        t0 = time.monotonic()
        if self._refusal is not None:
            return Execution(status=RunStatus.REFUSED, detail=self._refusal, tier=self.tier)
        if self._closed or self._pool is None:
            return Execution(status=RunStatus.REFUSED, detail="sandbox is closed", tier=self.tier)
        try:
            return self._execute(program, t0)
        except WorkerStartError as e:
            log.error("%s", e)
            return Execution(status=RunStatus.CRASHED, detail=str(e), tier=self.tier,
                             wall_s=time.monotonic() - t0)
        except Exception as e:  # never raise: report
            log.exception("tracefix sandbox internal error")
            return Execution(status=RunStatus.CRASHED, detail="sandbox internal error: %s: %s"
                             % (type(e).__name__, e), tier=self.tier, wall_s=time.monotonic() - t0)

    def _execute(self, program: Program, t0: float) -> Execution:
        cfg = self.config
        timeout = _clamp_timeout(program.timeout_s)
        cpu = float(cfg.cpu_seconds) if cfg.cpu_seconds else float(math.ceil(timeout) + 1)
        request: Dict[str, Any] = {
            "op": "run",
            "code": program.code,
            "setup_code": program.setup_code or "",
            "tests": [[[s.kind, s.source] for s in t.steps] for t in program.tests],
            "timeout": timeout,
            "max_result_bytes": cfg.max_result_bytes,
            "limits": {"cpu_seconds": cpu},
        }
        if len(json.dumps(request)) > MAX_REQUEST_BYTES:
            return Execution(status=RunStatus.REFUSED, detail="program too large for the sandbox",
                             tier=self.tier)
        assert self._pool is not None
        res: Dict[str, Any] = {}
        for attempt in range(2):
            worker = self._pool.checkout()
            try:
                res = worker.run(request, timeout, cfg.max_result_bytes)
            finally:
                if res.get("worker_died") or res.get("done") is None:
                    worker.stop()  # restarted transparently on its next checkout
                self._pool.checkin(worker)
            if res.get("sent") or attempt:
                break
            log.info("sandbox zygote was gone before the run; retrying on a fresh one")
        return assemble(
            program, res["reader"], res["output"], done=res.get("done"), timeout_s=timeout,
            cpu_limit=cpu, memory_mb=cfg.memory_mb, worker_died=bool(res.get("worker_died")),
            parent_timed_out=bool(res.get("parent_timed_out")), tier=self.tier,
            wall_s=time.monotonic() - t0)

    def warm(self) -> None:
        """Start all zygotes now (otherwise each starts on its first use)."""
        if self._pool is not None:
            self._pool.warm()

    def info(self) -> Dict[str, Any]:
        """Tier in use, refusal reason if any, and the host capability report."""
        workers = [dict(w.info) for w in self._pool._all if w.info] if self._pool is not None else []
        return {"tier": self.tier, "refused": self._refusal, "pool_size": self.config.pool_size,
                "workers": workers, "capabilities": detect.capabilities()}

    def memory_bytes(self) -> int:
        """RSS of all zygote processes (bwrap included)."""
        return self._pool.rss_bytes() if self._pool is not None else 0

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pool is not None:
            self._pool.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _clamp_timeout(t: Any) -> float:
    try:
        t = float(t)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT_S
    if not math.isfinite(t) or t <= 0:
        return DEFAULT_TIMEOUT_S
    return min(max(t, 0.05), MAX_TIMEOUT_S)


_lock = threading.Lock()
_shared: Optional[Sandbox] = None


def get_sandbox() -> Sandbox:
    """The process-wide shared sandbox (created lazily with the default config, closed at exit)."""
    global _shared
    with _lock:
        if _shared is None or _shared.closed:
            _shared = Sandbox()
            atexit.register(_shared.close)
        return _shared

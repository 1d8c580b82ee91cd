"""The public entry point: :class:`Sandbox` (a pool of warm zygotes at one tier) and :func:`get_sandbox`."""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

from tracefix.core.constants import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S

from . import detect
from .config import SandboxConfig, SandboxConfigError
from .pool import Pool, PoolBusy, WorkerStartError
from .protocol import EXIT_CONFINE, assemble, encode_frame
from .types import Execution, Program, RunStatus

log = logging.getLogger("tracefix.sandbox")

MAX_REQUEST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TierChoice:
    """The tier a configuration resolves to on this host, and why (``refusal`` set: nothing runs)."""

    requested: str
    tier: str
    reason: str
    refusal: Optional[str] = None

    def describe(self) -> str:
        head = "tier %r%s" % (self.tier, " (auto)" if self.requested == "auto" else "")
        return "%s refused: %s" % (head, self.refusal) if self.refusal else "%s: %s" % (head, self.reason)


def resolve_tier(config: SandboxConfig) -> TierChoice:
    """Decide the tier a configuration gets here (no process is started)."""
    caps = detect.capabilities()
    requested = config.tier
    is_root = os.geteuid() == 0
    if requested == "auto":
        tier = caps["best"]
        if tier == "reduced" and not (is_root or config.allow_shared_uid):
            tier = "none"
        reason = "best available on this host: " + caps["tiers"][tier]["detail"]
        if tier == "none" and not config.allow_unsandboxed:
            unavailable = "; ".join("%s: %s" % (t, caps["tiers"][t]["detail"]) for t in ("full", "reduced"))
            return TierChoice(requested, tier, reason, "no sandbox isolation is available on this host (%s)" % unavailable
                              + _shared_uid_hint(caps, is_root, config))
    else:
        tier = requested
        info = caps["tiers"][tier]
        reason = info["detail"]
        if not info["available"]:
            return TierChoice(requested, tier, reason, "sandbox tier %r is not available on this host: %s" % (tier, reason))
    if tier == "reduced" and not is_root and not config.allow_shared_uid:
        return TierChoice(requested, tier, reason,
                          "the reduced tier gives each zygote's runs a uid of their own, which needs root; "
                          "set TRACEFIX_ALLOW_SHARED_UID=1 to run every program with the server's uid instead "
                          "(see the README's sandbox section for what that cannot promise)")
    if tier == "none" and not config.allow_unsandboxed:
        return TierChoice(requested, tier, reason,
                          "tier 'none' runs untrusted code without isolation (rlimits only); it is refused "
                          "unless TRACEFIX_ALLOW_UNSANDBOXED=1")
    return TierChoice(requested, tier, reason)


def _shared_uid_hint(caps: Dict[str, Any], is_root: bool, config: SandboxConfig) -> str:
    if caps["tiers"]["reduced"]["available"] and not is_root and not config.allow_shared_uid:
        return "; the reduced tier would be available with TRACEFIX_ALLOW_SHARED_UID=1"
    return ""


class Sandbox:
    """Runs candidate programs in isolated, resource-limited, short-lived processes.

    ``execute`` is thread-safe and never raises for anything the candidate does: every failure comes
    back as an :class:`Execution` with a status and a ``detail``.  Constructing a sandbox with an
    invalid configuration raises :class:`SandboxConfigError`.
    """

    def __init__(self, config: Optional[SandboxConfig] = None) -> None:
        self.config = config or SandboxConfig()
        self.choice = resolve_tier(self.config)
        self.tier = self.choice.tier
        self._refusal = self.choice.refusal
        self._pool: Optional[Pool] = None
        self._closed = False
        if self._refusal:
            log.error("tracefix sandbox refuses to run: %s", self._refusal)
            return
        if self.tier == "none":
            log.warning("!!! tracefix sandbox: running UNTRUSTED code WITHOUT ISOLATION (tier 'none', "
                        "rlimits only) because allow_unsandboxed is set !!!")
        else:
            log.info("tracefix sandbox: %s", self.choice.describe())
        cfg = self.config
        self._pool = Pool(self.tier, cfg.pool_size, {
            "sandbox_uid": cfg.sandbox_uid,
            "tmpfs_mb": cfg.tmpfs_mb,
            "tmpfs_inodes": cfg.tmpfs_inodes,
            "uid_base": cfg.uid_base,
            "uid_count": cfg.uid_count,
            "max_result_bytes": cfg.max_result_bytes,
            "max_output_mb": cfg.max_output_mb,
            "preimport": None,
            "limits": {
                "memory_mb": cfg.memory_mb,
                "max_processes": cfg.max_processes,
                "max_file_mb": cfg.max_file_mb,
                "max_open_files": cfg.max_open_files,
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
        except PoolBusy as e:
            return Execution(status=RunStatus.BUSY, detail=str(e), tier=self.tier, wall_s=time.monotonic() - t0)
        except WorkerStartError as e:
            log.error("%s", e)
            return Execution(status=RunStatus.SANDBOX_ERROR, detail=str(e), tier=self.tier,
                             wall_s=time.monotonic() - t0)
        except Exception as e:  # never raise: report
            log.exception("tracefix sandbox internal error")
            return Execution(status=RunStatus.SANDBOX_ERROR, detail="sandbox internal error: %s: %s"
                             % (type(e).__name__, e), tier=self.tier, wall_s=time.monotonic() - t0)

    def _execute(self, program: Program, t0: float) -> Execution:
        cfg = self.config
        timeout = _clamp_timeout(program.timeout_s)
        cpu = float(cfg.cpu_seconds) if cfg.cpu_seconds else float(math.ceil(timeout) + 1)
        frame = encode_frame({
            "op": "run",
            "code": program.code,
            "setup_code": program.setup_code or "",
            "tests": [[[s.kind, s.source] for s in t.steps] for t in program.tests],
            "names": list(program.names) if program.names is not None else None,
            "max_result_bytes": cfg.max_result_bytes,
            "limits": {"cpu_seconds": cpu},
        })
        if len(frame) > MAX_REQUEST_BYTES:
            return Execution(status=RunStatus.REFUSED, detail="program too large for the sandbox", tier=self.tier)
        # An honest run sends one frame per step, then "end" (or a step and "mem", or "syntax").
        max_frames = sum(len(t.steps) for t in program.tests) + 2
        assert self._pool is not None
        res: Dict[str, Any] = {}
        for attempt in range(2):
            worker = self._pool.checkout(cfg.max_wait_s)
            res = {}
            try:
                res = worker.run(frame, timeout, max_frames)
            finally:
                done = res.get("done")
                unusable = (res.get("worker_died") or res.get("retryable") or done is None
                            or not done.get("clean", False) or _confine_failed(done))
                if unusable:
                    if done is not None and not done.get("clean", True):
                        log.warning("sandbox zygote not clean after a run (%s): replacing it", done.get("why"))
                    worker.stop()  # restarted transparently on its next checkout
                self._pool.checkin(worker)
            if attempt or not (res.get("retryable") or _confine_failed(res.get("done"))):
                break
            log.info("sandbox run never started (spare gone or unconfined: %s, %s); retrying on a fresh zygote", res.get("done"), res.get("retryable"))
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
        """Tier in use and why, refusal reason if any, what each zygote reported, host capabilities."""
        workers = [dict(w.info) for w in self._pool._all if w.info] if self._pool is not None else []
        tmp = workers[0].get("tmp") if workers else None
        return {"tier": self.tier, "requested": self.choice.requested, "reason": self.choice.reason,
                "refused": self._refusal, "pool_size": self.config.pool_size, "tmp": tmp,
                "workers": workers, "capabilities": detect.capabilities()}

    def pool_status(self) -> Dict[str, Any]:
        """Tier, workers in the pool, free now, and callers waiting for one (a snapshot)."""
        status: Dict[str, Any] = {"tier": self.tier, "size": self.config.pool_size, "idle": 0, "waiting": 0}
        if self._pool is not None:
            status.update(self._pool.status())
        return status

    def memory_bytes(self) -> int:
        """RSS of all zygote processes (bwrap and idle spares included)."""
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


def _confine_failed(done: Optional[Dict[str, Any]]) -> bool:
    status = done.get("status") if done else None
    return isinstance(status, int) and os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_CONFINE


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


__all__ = ["Sandbox", "SandboxConfigError", "TierChoice", "get_sandbox", "resolve_tier"]

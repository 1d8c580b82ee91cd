"""Sandbox configuration (parent side), with its environment-variable overrides.

Every setting has a ``TRACEFIX_SANDBOX_*`` (or ``TRACEFIX_ALLOW_*``) variable; a value that does not
parse, or a tier that does not exist, raises :class:`SandboxConfigError` naming the variable and the
accepted values, so a server with a typo in its settings refuses to start instead of running every
test to "no result".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Optional, TypeVar

TIERS = ("auto", "full", "reduced", "none")
DEFAULT_UID_BASE = 1_880_000_000
"""First uid the reduced tier gives to runs (one per zygote).  High on purpose: far above login
users, system users and the usual subordinate-uid ranges of rootless containers."""

T = TypeVar("T")


class SandboxConfigError(ValueError):
    """A sandbox setting is invalid (the message names the setting and what it accepts)."""


def _env(name: str, parse: Callable[[str], T], default: T, accepted: str) -> T:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError:
        raise SandboxConfigError(f"{name}={raw!r} is invalid; expected {accepted}") from None


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip() == "1"


def _tier() -> str:
    return (os.environ.get("TRACEFIX_SANDBOX_TIER") or "auto").strip().lower()


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(raw)
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(raw)
    return value


@dataclass
class SandboxConfig:
    """How runs are isolated and limited.

    ``tier``: "auto" picks the best the host supports ("full" > "reduced" > "none"); an explicit tier
    the host lacks makes every run REFUSED (never a silent downgrade); an unknown tier name raises
    :class:`SandboxConfigError`.  "none" (rlimits only) is refused unless ``allow_unsandboxed``.
    """

    tier: str = field(default_factory=_tier)
    pool_size: int = field(default_factory=lambda: _env(
        "TRACEFIX_SANDBOX_POOL_SIZE", _positive_int, os.cpu_count() or 2, "a positive integer"))
    memory_mb: int = 512
    cpu_seconds: Optional[float] = None
    """RLIMIT_CPU per run; default: the run's wall-clock timeout rounded up, plus one second."""
    max_processes: int = 128
    """RLIMIT_NPROC per run (threads; seccomp refuses new processes in sandboxed tiers)."""
    max_file_mb: int = 16
    max_open_files: int = 64
    max_result_bytes: int = 2 * 1024 * 1024
    """Largest encoded value of one step; the result channel accepts 4x this per run in total."""
    max_output_mb: int = 8
    """Output (stdout + stderr) a run may write; past it the run is stopped (status output_limit)."""
    allow_unsandboxed: bool = field(default_factory=lambda: _flag("TRACEFIX_ALLOW_UNSANDBOXED"))
    tmpfs_mb: int = 64
    """Size of each run's private /tmp."""
    tmpfs_inodes: int = 4096
    """Files and directories each run's private /tmp may hold (kernel memory is bounded too)."""
    sandbox_uid: int = 65534
    """uid/gid of the "full" tier inside its user namespace ("nobody")."""
    uid_base: int = field(default_factory=lambda: _env(
        "TRACEFIX_SANDBOX_UID_BASE", _positive_int, DEFAULT_UID_BASE, "a positive integer (a uid)"))
    uid_count: int = field(default_factory=lambda: _env(
        "TRACEFIX_SANDBOX_UID_COUNT", _positive_int, 4096, "a positive integer"))
    """The "reduced" tier (as root) gives each zygote's runs their own uid from
    ``uid_base .. uid_base + uid_count - 1``, never shared by two zygotes on the host."""
    allow_shared_uid: bool = field(default_factory=lambda: _flag("TRACEFIX_ALLOW_SHARED_UID"))
    """Run the "reduced" tier without root, every run with the server's uid (weaker: see README)."""
    max_wait_s: float = field(default_factory=lambda: _env(
        "TRACEFIX_SANDBOX_MAX_WAIT_S", _positive_float, 60.0, "a positive number of seconds"))
    """How long a run waits for a free worker before it is answered BUSY."""

    def __post_init__(self) -> None:
        self.tier = (self.tier or "auto").strip().lower()
        if self.tier not in TIERS:
            raise SandboxConfigError(
                f"unknown sandbox tier {self.tier!r} (TRACEFIX_SANDBOX_TIER); valid tiers: {', '.join(TIERS)}")
        for name in ("pool_size", "memory_mb", "max_file_mb", "max_open_files", "max_result_bytes",
                     "max_output_mb", "tmpfs_mb", "tmpfs_inodes", "uid_count"):
            if int(getattr(self, name)) < 1:
                raise SandboxConfigError(f"sandbox setting {name} must be at least 1")
        if not self.max_wait_s > 0:
            raise SandboxConfigError("sandbox setting max_wait_s must be positive")

"""Sandbox configuration (parent side)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

TIERS = ("auto", "full", "reduced", "none")


def _env_tier() -> str:
    return (os.environ.get("TRACEFIX_SANDBOX_TIER") or "auto").strip().lower()


def _env_allow() -> bool:
    return os.environ.get("TRACEFIX_ALLOW_UNSANDBOXED") == "1"


@dataclass
class SandboxConfig:
    """How runs are isolated and limited.

    ``tier``: "auto" picks the best the host supports ("full" > "reduced" > "none"); an explicit tier
    the host lacks makes every run REFUSED (never a silent downgrade).  "none" (rlimits only) is
    refused unless ``allow_unsandboxed``.
    """

    tier: str = field(default_factory=_env_tier)
    pool_size: int = field(default_factory=lambda: os.cpu_count() or 2)
    memory_mb: int = 512
    cpu_seconds: Optional[float] = None
    """RLIMIT_CPU per run; default: the run's wall-clock timeout rounded up, plus one second."""
    max_processes: int = 128
    """RLIMIT_NPROC per run (threads; seccomp refuses new processes in sandboxed tiers)."""
    max_file_mb: int = 16
    max_open_files: int = 64
    max_result_bytes: int = 2 * 1024 * 1024
    """Largest encoded value of one step; the result channel accepts 4x this per run in total."""
    allow_unsandboxed: bool = field(default_factory=_env_allow)
    tmpfs_mb: int = 64
    """Size of the private /tmp of the "full" tier."""
    sandbox_uid: int = 65534
    """uid/gid the run uses ("nobody"): inside the user namespace, or dropped to when root."""

"""Run untrusted candidate code: isolated, resource-limited, fast (warm zygotes), never hanging.

Usage::

    from tracefix.sandbox import get_sandbox, Program, TestSpec, StepSpec
    ex = get_sandbox().execute(Program(code=src, tests=(TestSpec("t", (StepSpec("eval", "f(1)"),)),)))

Tiers: "full" (bubblewrap namespaces + seccomp + Landlock + rlimits), "reduced" (seccomp + Landlock +
rlimits + uid drop; for hosts without user namespaces), "none" (rlimits only; refused unless
explicitly allowed).  See ``detect_tier()`` / ``capabilities()``.
"""

from .config import SandboxConfig, SandboxConfigError
from .detect import capabilities, describe, detect_tier
from .sandbox import Sandbox, TierChoice, get_sandbox, resolve_tier
from .types import (
    CANDIDATE_FILENAME,
    Execution,
    Program,
    RunStatus,
    StepOutcome,
    StepSpec,
    SyntaxErrorInfo,
    TestOutcome,
    TestSpec,
)

__all__ = [
    "CANDIDATE_FILENAME",
    "Execution",
    "Program",
    "RunStatus",
    "Sandbox",
    "SandboxConfig",
    "SandboxConfigError",
    "StepOutcome",
    "StepSpec",
    "SyntaxErrorInfo",
    "TestOutcome",
    "TestSpec",
    "TierChoice",
    "capabilities",
    "describe",
    "detect_tier",
    "get_sandbox",
    "resolve_tier",
]

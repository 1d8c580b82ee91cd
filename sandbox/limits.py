"""Per-run resource limits, applied in the forked run child before any candidate code runs.

Self-contained and stdlib-only (its source is sent into the zygote).  The zygote itself keeps generous
limits so that it can always fork the next run; each child tightens its own.
"""

from __future__ import annotations

import resource
from typing import Dict, List

MIB = 1024 * 1024


def rlimits_for(limits: Dict[str, float]) -> List[tuple]:
    """``(resource, soft, hard)`` triples for a run.  Why each one:

    * AS: a memory bomb gets ``MemoryError`` instead of taking the host's RAM.
    * CPU: a CPU burn (even in threads, which the wall clock alone would also catch) is stopped by
      the kernel with SIGXCPU, then SIGKILL one second later.
    * NPROC: bounds threads (processes are refused by seccomp anyway) for non-root-mapped uids.
    * FSIZE: a single file cannot grow past it (``OSError: File too large``; SIGXFSZ is ignored).
    * NOFILE: fd exhaustion stays inside the run.
    * CORE=0: a crash never writes a core file.
    """
    # Before the request arrives the CPU limit is generous; apply_cpu() lowers it per run (a hard
    # limit can only be lowered).
    cpu = max(1, int(limits.get("cpu_seconds", 3600)))
    out = [
        (resource.RLIMIT_AS, int(limits.get("memory_mb", 512)) * MIB),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_FSIZE, int(limits.get("max_file_mb", 16)) * MIB),
        (resource.RLIMIT_NOFILE, int(limits.get("max_open_files", 64))),
        (resource.RLIMIT_CORE, 0),
    ]
    if hasattr(resource, "RLIMIT_NPROC"):
        out.append((resource.RLIMIT_NPROC, int(limits.get("max_processes", 128))))
    return [t if len(t) == 3 else (t[0], t[1], t[1]) for t in out]


def apply_cpu(limits: Dict[str, float]) -> None:
    """Per-request CPU limit (the run's timeout decides it); the rest is set when the child forks."""
    if "cpu_seconds" in limits:
        cpu = max(1, int(limits["cpu_seconds"]))
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        except (ValueError, OSError):
            pass


def apply(limits: Dict[str, float]) -> None:
    """Set every limit (soft and hard, so the candidate cannot raise them again)."""
    for res, soft, hard in rlimits_for(limits):
        try:
            cur_soft, cur_hard = resource.getrlimit(res)
            if cur_hard != resource.RLIM_INFINITY:
                hard = min(hard, cur_hard)
                soft = min(soft, hard)
            resource.setrlimit(res, (soft, hard))
        except (ValueError, OSError):
            # A limit we cannot set (e.g. lower than what is in use) is skipped, not fatal.
            pass

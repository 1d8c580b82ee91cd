"""What isolation this host offers, and which tier "auto" picks.

Checked once per process (cached): bubblewrap present and able to start the interpreter in new
user/pid/net/... namespaces; seccomp-bpf; the Landlock ABI; whether we are root (so "reduced" can drop
to an unprivileged uid).
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from typing import Any, Dict, Tuple

from . import bwrap, landlock, seccomp


def _probe_bwrap(uid: int = 65534) -> Tuple[bool, str]:
    path = bwrap.bwrap_path()
    if not path:
        return False, "bubblewrap (bwrap) not installed: apt-get install -y bubblewrap"
    cmd = bwrap.bwrap_command(uid) + [bwrap.python_executable(), "-I", "-S", "-c", "pass"]
    try:
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20,
                             env=dict(bwrap.SANDBOX_ENV))
    except (OSError, subprocess.SubprocessError) as e:
        return False, "bwrap failed to run: %s" % (e,)
    if out.returncode != 0:
        return False, "bwrap cannot create namespaces here: %s" % (out.stderr.strip()[-300:] or out.returncode)
    return True, "bubblewrap %s" % path


@functools.lru_cache(maxsize=1)
def capabilities() -> Dict[str, Any]:
    """A small report for ``tracefix doctor``-style output and logs."""
    is_linux = platform.system() == "Linux"
    sc_ok, sc_detail = seccomp.available() if is_linux else (False, "not Linux")
    abi = landlock.abi_version() if is_linux else 0
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    full_ok, full_detail = _probe_bwrap() if is_linux else (False, "not Linux")
    if full_ok and not sc_ok:
        full_ok, full_detail = False, "seccomp unavailable: " + sc_detail
    if not is_linux:
        red = (False, "not Linux")
    elif not sc_ok:
        red = (False, "seccomp unavailable: " + sc_detail)
    elif abi <= 0:
        # Without namespaces, Landlock is what keeps a run out of the host's files (and out of the
        # world-writable /tmp and /dev/shm through which runs could talk): no Landlock, no tier.
        red = (False, "Landlock unavailable (kernel < 5.13 or not enabled): the reduced tier needs it")
    else:
        red = (True, "seccomp + Landlock ABI %d + rlimits + %s" % (
            abi, "a uid of their own per zygote" if root else "the server's uid (not root)"))
    tiers = {"full": (full_ok, full_detail), "reduced": red,
             "none": (True, "rlimits only, no isolation (refused unless TRACEFIX_ALLOW_UNSANDBOXED=1)")}
    best = "full" if full_ok else ("reduced" if red[0] else "none")
    return {
        "platform": platform.platform(),
        "arch": platform.machine(),
        "python": bwrap.python_executable(),
        "bwrap": bwrap.bwrap_path(),
        "seccomp": sc_detail if sc_ok else "unavailable: " + sc_detail,
        "landlock_abi": abi,
        "root": root,
        "tiers": {k: {"available": v[0], "detail": v[1]} for k, v in tiers.items()},
        "best": best,
    }


def detect_tier() -> str:
    """The best tier this host supports ("full", "reduced" or "none")."""
    return capabilities()["best"]


def describe() -> str:
    """What this host offers, tier by tier (``tracefix doctor`` adds the tier in force)."""
    c = capabilities()
    lines = ["host capabilities (best tier %r):" % c["best"]]
    for k, v in c["tiers"].items():
        available = "yes" if v["available"] else "no "
        if k == "none" and v["available"]:
            available = "opt"  # possible, but refused unless TRACEFIX_ALLOW_UNSANDBOXED=1
        lines.append("  %-8s %s  %s" % (k, available, v["detail"]))
    lines.append("  seccomp: %s; Landlock ABI: %s; root: %s" % (c["seccomp"], c["landlock_abi"], c["root"]))
    return "\n".join(lines)

"""Command lines that start a zygote: inside bubblewrap ("full") or directly ("reduced"/"none")."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from typing import List, Optional

SANDBOX_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
"""The whole environment of a run: nothing of the parent's (no tokens, no keys) leaks in."""

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")


def python_executable() -> str:
    """The real interpreter binary (a venv's ``bin/python`` is a symlink to it)."""
    exe = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(exe)


def python_dirs() -> List[str]:
    """Directories the interpreter needs (prefix with stdlib, lib-dynload and libpython)."""
    exe = python_executable()
    dirs = []
    for d in (sys.base_prefix, sys.base_exec_prefix, os.path.dirname(os.path.dirname(exe))):
        d = os.path.realpath(d)
        if d in ("/", "/usr") or d.startswith("/usr/"):
            continue  # covered by the /usr mount
        if not any(d == x or d.startswith(x + "/") for x in dirs):
            dirs = [x for x in dirs if not x.startswith(d + "/")] + [d]
    return dirs


def read_only_paths() -> List[str]:
    """What a sandboxed zygote may read (Landlock rules; bwrap mounts the same)."""
    paths = [p for p in SYSTEM_DIRS if os.path.isdir(p) and not os.path.islink(p)]
    paths += python_dirs()
    if os.path.exists("/etc/ld.so.cache"):
        paths.append("/etc/ld.so.cache")
    return paths


@functools.lru_cache(maxsize=1)
def bwrap_path() -> Optional[str]:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def bwrap_features() -> frozenset:
    path = bwrap_path()
    if not path:
        return frozenset()
    try:
        out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    text = out.stdout + out.stderr
    return frozenset(f for f in ("--disable-userns", "--size", "--as-pid-1", "--die-with-parent")
                     if f in text)


def bwrap_command(uid: int, tmpfs_mb: int = 1, caps: bool = True) -> List[str]:
    """bwrap argv prefix: new user/pid/net/ipc/uts/mount(/cgroup) namespaces, a read-only root with
    only /usr, the lib dirs and the interpreter's prefix, an empty read-only /tmp, a fresh /proc, a
    read-only /dev, no /home, no /etc (but ld.so.cache), no project directory; uid ``uid`` inside,
    killed with the parent, in its own session (no TIOCSTI on our terminal).

    Every capability is dropped except, with ``caps``, CAP_SYS_ADMIN *inside the new user
    namespace*: the zygote uses it only to give each run child a mount namespace with a fresh tmpfs
    on /tmp, and every run child drops it before any candidate code runs."""
    path = bwrap_path()
    assert path
    feats = bwrap_features()
    cmd = [path, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--as-pid-1",
           "--uid", str(uid), "--gid", str(uid), "--hostname", "sandbox", "--cap-drop", "ALL"]
    if caps:
        cmd += ["--cap-add", "CAP_SYS_ADMIN"]
    if "--disable-userns" in feats:
        cmd.append("--disable-userns")
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            cmd += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            cmd += ["--ro-bind", d, d]
    for d in python_dirs():
        cmd += ["--ro-bind", d, d]
    if os.path.exists("/etc/ld.so.cache"):
        cmd += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    if "--size" in feats:
        cmd += ["--size", str(tmpfs_mb * 1024 * 1024)]
    cmd += ["--tmpfs", "/tmp", "--chdir", "/tmp", "--clearenv"]
    for k, v in SANDBOX_ENV.items():
        cmd += ["--setenv", k, v]
    # Nothing bwrap created (its root, /dev, /tmp) stays writable: only a run's own tmpfs is.
    cmd += ["--remount-ro", "/dev", "--remount-ro", "/tmp", "--remount-ro", "/", "--"]
    return cmd


def python_command(bootstrap: str, fd: int) -> List[str]:
    return [python_executable(), "-I", "-S", "-c", bootstrap, str(fd)]


def accessible_to_others(path: str) -> bool:
    """True when an unrelated uid can reach ``path`` (every ancestor o+x and the dir itself o+rx)."""
    path = os.path.realpath(path)
    parts = path.split("/")
    cur = "/"
    for p in parts[1:]:
        try:
            mode = os.stat(cur).st_mode
        except OSError:
            return False
        if not mode & 0o001:
            return False
        cur = os.path.join(cur, p)
    try:
        return bool(os.stat(cur).st_mode & 0o005 == 0o005)
    except OSError:
        return False

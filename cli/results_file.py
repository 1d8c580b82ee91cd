"""The results file of ``tracefix eval``: one JSON line per finished episode, on disk before the next.

Every finished episode is appended as one line, flushed and ``fsync``'d, so a run that is killed
(``kill -9``, Ctrl-C, a reboot, its server dying) keeps every episode it reported.  ``--resume``
reads the file back and runs only what is missing:

* a line cut off by the crash (the last one, without its newline or not valid JSON) is dropped;
* an episode whose line says it did not finish (``done`` false: its server went away, the agent
  failed) is run again, and its old line removed;
* an episode recorded twice (cannot happen through this module) counts once.

Rewrites (when resuming, and the final reordering into plan order) go to a temporary file that
replaces the results file atomically, so a crash during a rewrite leaves either the old or the new
file, never a mix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Optional, Tuple

Key = Tuple[str, str, str, int, int]


class ResultsFileError(ValueError):
    """``--out`` names a file that must not be written (it holds earlier results, or is a directory)."""


def row_key(row: dict[str, Any]) -> Key:
    """What identifies an episode of a run: agent, split, task, episode number, seed."""
    return (str(row["agent"]), str(row["split"]), str(row["task"]), int(row["episode"]), int(row["seed"]))


def _check_path(out: Path) -> None:
    if out.is_dir():
        raise ResultsFileError(f"--out {out} is a directory; give a file name such as {out / 'eval.jsonl'}")


def read_rows(out: Path) -> Tuple[list[dict[str, Any]], int]:
    """The finished episodes recorded in ``out`` (first occurrence of each), and how many lines were
    dropped (cut off by a crash, or episodes that did not finish)."""
    finished: dict[Key, dict[str, Any]] = {}
    dropped = 0
    with out.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):  # the line being written when the run died
                dropped += 1
                continue
            try:
                row = json.loads(raw)
                key = row_key(row)
            except (ValueError, KeyError, TypeError):
                dropped += 1
                continue
            if not row.get("done"):
                dropped += 1
                continue
            finished.setdefault(key, row)
    return list(finished.values()), dropped


class ResultsFile:
    """Append-only, crash-safe JSON Lines results (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sink: Optional[Any] = None

    @classmethod
    def start(cls, out: Path, force: bool) -> "ResultsFile":
        """A new run: refuse to overwrite earlier results unless ``force``; create the directory."""
        prepare_results_file(out, force)
        results = cls(out)
        results.rewrite([])
        return results

    @classmethod
    def resume(cls, out: Path) -> Tuple["ResultsFile", list[dict[str, Any]], int]:
        """Continue the run recorded in ``out`` (a missing or empty file starts a new one): its
        finished episodes, and how many lines were dropped to be run again."""
        _check_path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        rows, dropped = read_rows(out) if out.exists() else ([], 0)
        results = cls(out)
        results.rewrite(rows)
        return results, rows, dropped

    def append(self, row: dict[str, Any]) -> None:
        """Write one finished episode and make it durable before returning."""
        if self._sink is None:
            self._sink = self.path.open("a", encoding="utf-8")
        self._sink.write(json.dumps(row) + "\n")
        self._sink.flush()
        os.fsync(self._sink.fileno())

    def rewrite(self, rows: Iterable[dict[str, Any]]) -> None:
        """Replace the file's content with ``rows``, atomically."""
        self.close()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (best effort: not every filesystem allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def prepare_results_file(out: Path, force: bool) -> None:
    """Refuse to overwrite earlier results unless ``force``; create the parent directory (no write)."""
    _check_path(out)
    if out.exists() and out.stat().st_size > 0 and not force:
        raise ResultsFileError(
            f"{out} already holds results; pass --resume to finish that run, --force to overwrite it, "
            "or choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)


__all__ = ["ResultsFile", "ResultsFileError", "prepare_results_file", "read_rows", "row_key"]

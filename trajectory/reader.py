"""Reading trajectory files back, with errors that name the file, the line and the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

from pydantic import ValidationError

from tracefix.trajectory.schema import (
    FORMAT_NAME,
    SCHEMA_VERSION,
    Trajectory,
    TrajectoryFooter,
    TrajectoryHeader,
    TrajectoryStep,
)


class TrajectoryFormatError(ValueError):
    """A file is not a readable trajectory; the message says where and why."""


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "(line)"
    return f"{where}: {first.get('msg', 'invalid')}"


def parse_lines(lines: Iterable[str], source: str = "<trajectory>") -> Trajectory:
    """Parse the lines of one trajectory file."""
    header = None
    steps: list[TrajectoryStep] = []
    footer = None
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        where = f"{source}:{number}"
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TrajectoryFormatError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(payload, dict):
            raise TrajectoryFormatError(f"{where}: expected a JSON object")
        kind = payload.get("kind")
        if footer is not None:
            raise TrajectoryFormatError(f"{where}: a {kind or 'line'} after the footer")
        try:
            if kind == "header":
                if header is not None:
                    raise TrajectoryFormatError(f"{where}: a second header (one episode per file)")
                if payload.get("format") != FORMAT_NAME:
                    raise TrajectoryFormatError(f"{where}: format is {payload.get('format')!r}, expected {FORMAT_NAME!r}")
                version = payload.get("schema_version")
                if version != SCHEMA_VERSION:
                    raise TrajectoryFormatError(
                        f"{where}: schema version {version!r}; this TraceFix reads version {SCHEMA_VERSION}"
                    )
                header = TrajectoryHeader.model_validate(payload)
            elif header is None:
                raise TrajectoryFormatError(f"{where}: the first line must be the header, got {kind!r}")
            elif kind == "step":
                step = TrajectoryStep.model_validate(payload)
                if step.step != len(steps) + 1:
                    raise TrajectoryFormatError(f"{where}: step {step.step} where step {len(steps) + 1} was expected")
                steps.append(step)
            elif kind == "footer":
                footer = TrajectoryFooter.model_validate(payload)
            else:
                raise TrajectoryFormatError(f"{where}: unknown line kind {kind!r} (header, step or footer)")
        except ValidationError as exc:
            raise TrajectoryFormatError(f"{where}: invalid {kind}: {_describe(exc)}") from None
    if header is None:
        raise TrajectoryFormatError(f"{source}: empty file (no header)")
    return Trajectory(header=header, steps=steps, footer=footer, path=None if source.startswith("<") else source)


def read_trajectory(path: Path | str) -> Trajectory:
    """Read one trajectory file; raises :class:`TrajectoryFormatError` (also for I/O problems)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as handle:
            return parse_lines(handle, str(path))
    except OSError as exc:
        raise TrajectoryFormatError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise TrajectoryFormatError(f"{path}: not UTF-8 text ({exc.reason})") from None


def trajectory_files(paths: Iterable[Path | str]) -> list[Path]:
    """The files named, plus every ``*.jsonl`` under the directories named (sorted, recursive)."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.jsonl") if p.is_file()))
        else:
            found.append(path)
    return found


def iter_trajectories(paths: Iterable[Path | str]) -> Iterator[Trajectory]:
    for path in trajectory_files(paths):
        yield read_trajectory(path)


__all__ = ["TrajectoryFormatError", "iter_trajectories", "parse_lines", "read_trajectory", "trajectory_files"]

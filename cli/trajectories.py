"""``tracefix replay`` and ``tracefix show``: check and read recorded trajectories."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from tracefix.cli.console import fail


def _make_env_factory(tasks_file: Optional[Path]):
    from tracefix.core.environment import TraceFixRLGym
    from tracefix.tasks.registry import default_registry
    from tracefix.tasks.schema import TaskFileError

    registry = default_registry()
    if tasks_file is not None:
        try:
            registry.add_file(tasks_file)
        except (TaskFileError, OSError) as exc:
            raise fail(str(exc))
    return lambda: TraceFixRLGym(registry=registry)


def replay_command(
    paths: list[Path] = typer.Argument(..., help="Trajectory files, or directories (every *.jsonl below them)."),
    tasks_file: Optional[Path] = typer.Option(None, help="Also load the tasks of this JSONL file (for episodes recorded with --tasks-file)."),
    show: int = typer.Option(10, "--show", min=0, help="Divergences printed per file."),
    quiet: bool = typer.Option(False, help="Only print files that diverge, and the summary."),
) -> None:
    """Re-run recorded actions on a fresh environment and report every divergence.

    Exit status: 0 when every file replays identically, 1 when some file diverges, 2 when a file
    cannot be read or replayed (unknown task, unsupported reset argument).
    """
    from tracefix.trajectory import TrajectoryFormatError, read_trajectory, replay_trajectory, trajectory_files

    console = Console(highlight=False, soft_wrap=True)
    files = trajectory_files(paths)
    if not files:
        raise fail(f"no trajectory file found in {', '.join(map(str, paths))}")
    make_env = _make_env_factory(tasks_file)
    identical = diverged = broken = 0
    for path in files:
        try:
            trajectory = read_trajectory(path)
        except TrajectoryFormatError as exc:
            broken += 1
            console.print(Text.assemble(("unreadable ", "bold red"), str(exc)))
            continue
        report = replay_trajectory(trajectory, make_env)
        if report.error is not None:
            broken += 1
            console.print(Text.assemble(("cannot replay ", "bold red"), str(path), ": ", report.error))
        elif report.divergences:
            diverged += 1
            console.print(Text.assemble(("DIVERGED ", "bold red"), str(path),
                                        f" ({len(report.divergences)} difference(s) in {report.steps_replayed} steps)"))
            for divergence in report.divergences[:show]:
                console.print(Text("    " + divergence.describe()))
            if len(report.divergences) > show:
                console.print(Text(f"    ... and {len(report.divergences) - show} more"))
        else:
            identical += 1
            if not quiet:
                console.print(Text.assemble(("identical ", "green"), str(path), f" ({report.steps_replayed} steps)"))
    total = identical + diverged + broken
    colour = "green" if identical == total else "red"
    console.print(f"[{colour}]{identical} of {total} trajectories replayed identically[/]; "
                  f"{diverged} diverged, {broken} could not be replayed")
    if broken:
        raise typer.Exit(2)
    if diverged:
        raise typer.Exit(1)


def show_command(
    path: Path = typer.Argument(..., help="A trajectory file."),
    step: Optional[int] = typer.Option(None, "--step", min=1, help="Only this step (with the program before it)."),
) -> None:
    """Print a recorded episode: each action, the diff of each edit, the visible tests, the rewards."""
    from tracefix.trajectory import TrajectoryFormatError, read_trajectory
    from tracefix.trajectory.show import render_trajectory

    console = Console(highlight=False)
    try:
        trajectory = read_trajectory(path)
    except TrajectoryFormatError as exc:
        raise fail(str(exc))
    if step is not None and step > len(trajectory.steps):
        raise fail(f"the episode has {len(trajectory.steps)} steps; there is no step {step}")
    render_trajectory(console, trajectory, step=step)


__all__ = ["replay_command", "show_command"]

"""``tracefix export sft``: successful trajectories -> chat-format SFT examples (OpenEnv's results.jsonl shape)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from tracefix.cli.console import fail, print_warning


def export_sft_command(
    source: list[Path] = typer.Option(..., "--from", help="Trajectory directories or files (repeatable)."),
    out: Path = typer.Option(..., "--out", help="Output JSON Lines file (name it results.jsonl for OpenEnv's dataset layout)."),
    min_score: float = typer.Option(0.0, "--min-score", help="Keep only successful episodes with at least this score."),
    agent: Optional[list[str]] = typer.Option(None, "--agent", help="Keep only episodes played by this agent (repeatable)."),
) -> None:
    """Turn successful trajectories into chat-format training examples (system, user, assistant turns)."""
    from tracefix.trajectory.reader import trajectory_files
    from tracefix.trajectory.sft import export_sft

    console = Console(highlight=False, soft_wrap=True)
    missing = [str(p) for p in source if not p.exists()]
    if missing:
        raise fail(f"no such file or directory: {', '.join(missing)}")
    if not trajectory_files(source):
        raise fail(f"no trajectory file (*.jsonl) in {', '.join(map(str, source))}")
    summary = export_sft(source, out, min_score=min_score, agents=agent)
    for problem in summary.unreadable:
        print_warning(problem, label="skipped")
    console.print(Text(
        f"{summary.kept} example(s) written to {out} from {summary.files} file(s); left out: "
        f"{summary.not_successful} not successful, {summary.below_score} below score {min_score}, "
        f"{summary.other_agent} other agents, {len(summary.unreadable)} unreadable"
    ))
    if summary.kept == 0:
        raise typer.Exit(1)


__all__ = ["export_sft_command"]

"""Terminal rendering of episodes for ``tracefix play`` (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from tracefix.agents.base import Agent
from tracefix.agents.episode import EpisodeResult, StepRecord
from tracefix.models import ActionType, CodeObservation


def print_start(console: Console, observation: CodeObservation, agent: Agent) -> None:
    label = f"{agent.name} (privileged)" if agent.privileged else agent.name
    console.rule(f"[bold]{observation.task_id}[/] · {observation.difficulty} · agent {label}")
    console.print(observation.description)
    console.print(Panel(observation.code_view, title="code", expand=False))


def print_step(console: Console, record: StepRecord) -> None:
    observation = record.observation
    colour = "green" if record.reward > 0 else ("red" if record.reward < 0 else "white")
    console.print(
        f"[bold]step {record.step:>2}[/] {record.action.short():<22} reward [{colour}]{record.reward:+.2f}[/]  "
        f"{observation.message}"
    )
    if record.error:
        console.print(f"         [red]error:[/] {record.error}")
    if record.action.action_type is ActionType.REPLACE_LINES and record.action.new_code_block:
        console.print(Syntax(record.action.new_code_block.rstrip("\n"), "python", line_numbers=False, indent_guides=False))
    if record.action.action_type is ActionType.RUN_TESTS:
        for result in observation.test_results:
            mark = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
            detail = f" {result.message.splitlines()[0]}" if result.message else ""
            console.print(f"         {mark} {result.name}{detail}")


def print_summary(console: Console, result: EpisodeResult) -> None:
    status = "[green]success[/]" if result.success else "[yellow]not solved[/]"
    console.print(
        f"[bold]{result.task_id}[/]: {status} · score {result.score:.2f} · {len(result.steps)} steps · "
        f"return {result.total_reward:+.2f} · {result.wall_s:.2f} s"
    )

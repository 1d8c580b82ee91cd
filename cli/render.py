"""Terminal rendering of episodes for ``tracefix play`` (rich).

Everything that comes from a task, the environment or an agent is printed as a ``rich.text.Text``,
never as a markup string: code such as ``items[start:start + size]`` would otherwise be read as a
Rich style tag and disappear.  Code, step lines and test results are printed with
``soft_wrap=True``: a line longer than the terminal is left for the terminal to wrap, never cut or
re-flowed by Rich, so every code line is shown exactly as stored.
"""

from __future__ import annotations

import re
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from tracefix.agents.base import Agent
from tracefix.agents.episode import EpisodeResult, StepRecord
from tracefix.models import ActionType, CodeObservation

_TRACEBACK_HEAD = "Traceback (most recent call last):"
_SOLUTION_FRAME = re.compile(r'File "(?:[^"]*/)?solution\.py", line (?P<line>\d+)')
_INDENT = "         "


def failure_summary(message: str) -> str:
    """One line that says why a test failed.

    Most failure messages are one line already (``expected [1], got []``).  A crash is a traceback
    whose first line says nothing; the useful parts are the exception line (its last unindented
    line) and the innermost ``solution.py`` frame, whose line number is the agent's line number.
    """
    lines = [line for line in message.splitlines() if line.strip()]
    if not lines:
        return ""
    head = lines[0]
    if _TRACEBACK_HEAD not in message:
        return head if len(lines) == 1 else f"{head} …"
    prefix = head.split(_TRACEBACK_HEAD, 1)[0].rstrip()
    exception_line = next((line for line in reversed(lines) if not line[:1].isspace() and _TRACEBACK_HEAD not in line), "")
    frames = _SOLUTION_FRAME.findall(message)
    where = f" (solution.py line {frames[-1]})" if frames else ""
    return " ".join(part for part in (prefix, exception_line.strip()) if part) + where


def _print_code(console: Console, code: str, *, highlight_python: bool = False) -> None:
    text = Syntax("", "python").highlight(code) if highlight_python else Text(code)
    text.rstrip()
    console.print(text, soft_wrap=True)


def print_start(console: Console, observation: CodeObservation, agent: Agent) -> None:
    label = f"{agent.name} (privileged)" if agent.privileged else agent.name
    title = Text.assemble((observation.task_id, "bold"), f" · {observation.difficulty} · agent {label}")
    console.rule(title)
    console.print(Text(observation.description))
    console.rule(Text(f"code (lines {observation.view_start}-{observation.view_end} of {observation.total_lines})", "dim"), align="left")
    _print_code(console, observation.code_view)
    console.rule(style="dim")


def print_step(console: Console, record: StepRecord) -> None:
    observation = record.observation
    colour = "green" if record.reward > 0 else ("red" if record.reward < 0 else "white")
    console.print(
        Text.assemble(
            (f"step {record.step:>2}", "bold"),
            f" {record.action.short():<22} reward ",
            (f"{record.reward:+.2f}", colour),
            "  ",
            observation.message,
        ),
        soft_wrap=True,
    )
    if record.error:
        console.print(Text.assemble(_INDENT, ("error:", "red"), " ", record.error), soft_wrap=True)
    if record.action.action_type is ActionType.REPLACE_LINES and record.action.new_code_block:
        _print_code(console, record.action.new_code_block.rstrip("\n"), highlight_python=True)
    if record.action.action_type is ActionType.RUN_TESTS:
        for result in observation.test_results:
            mark = ("PASS", "green") if result.passed else ("FAIL", "red")
            detail = failure_summary(result.message)
            console.print(Text.assemble(_INDENT, mark, " ", result.name, f" {detail}" if detail else ""), soft_wrap=True)


def print_summary(console: Console, result: EpisodeResult) -> None:
    status = ("success", "green") if result.success else ("not solved", "yellow")
    console.print(
        Text.assemble(
            (result.task_id, "bold"),
            ": ",
            status,
            f" · score {result.score:.2f} · {len(result.steps)} steps · return {result.total_reward:+.2f} · {result.wall_s:.2f} s",
        )
    )

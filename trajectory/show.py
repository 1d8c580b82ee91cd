"""``tracefix show``: an episode in the terminal, step by step.

For each step: the action, its reward and the environment's message; the diff of every edit that
changed the program; the visible test table after every test run; at the end the score, success,
return and the reward of every step.  All agent, program and test text is printed as plain
:class:`rich.text.Text`, never as markup, so code such as ``items[0]`` or ``[bold]`` shows as written.
"""

from __future__ import annotations

from typing import Optional

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from tracefix.models import ActionType, CodeObservation
from tracefix.trajectory.program import ProgramVersion, program_versions
from tracefix.trajectory.schema import Trajectory, TrajectoryStep

MAX_MESSAGE_LINES = 3


def _reward_text(reward: float) -> Text:
    style = "green" if reward > 0 else ("red" if reward < 0 else "dim")
    return Text(f"{reward:+.2f}", style=style)


def header_panel(trajectory: Trajectory) -> Panel:
    header = trajectory.header
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    rows = [
        ("task", f"{header.task_id} ({header.difficulty})"),
        ("split", header.split or "?"),
        ("agent", (header.agent or "unknown") + (f" · model {header.model}" if header.model else "")),
        ("seed", str(header.seed) if header.seed is not None else "none"),
        ("reward mode", header.reward_mode),
        ("step budget", str(header.max_steps)),
        ("recorded", f"{header.started_at} by {header.source} · TraceFix {header.env_version}"),
    ]
    for name, value in rows:
        facts.add_row(name, Text(value))
    body = Group(facts, Text(""), Text(header.observation.description.strip()))
    return Panel(body, title=Text(f"episode {header.episode_id}"), title_align="left", expand=False)


def code_panel(version: ProgramVersion, title: str) -> Panel:
    code = "\n".join(version.lines)
    syntax = Syntax(code, "python", line_numbers=True, word_wrap=False, theme="ansi_dark")
    return Panel(syntax, title=Text(title), title_align="left", expand=False)


def tests_table(observation: CodeObservation) -> Table:
    passed = observation.tests_passed if observation.tests_passed is not None else sum(r.passed for r in observation.test_results)
    table = Table(title=Text(f"visible tests: {passed}/{observation.tests_total or len(observation.test_results)} pass"),
                  title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("test")
    table.add_column("result")
    table.add_column("message", overflow="fold")
    for result in observation.test_results:
        mark = Text("PASS", style="green") if result.passed else Text("FAIL", style="bold red")
        lines = result.message.strip().splitlines()
        message = "\n".join(lines[:MAX_MESSAGE_LINES]) + (" ..." if len(lines) > MAX_MESSAGE_LINES else "")
        table.add_row(Text(result.name), mark, Text(message))
    return table


def step_renderables(record: TrajectoryStep, version: ProgramVersion) -> list:
    observation = record.observation
    line = Text.assemble((f"step {record.step:>2} ", "bold"), (f"{record.action.short():<22}", "cyan"), " reward ",
                         _reward_text(record.reward), "  ", Text(observation.message))
    parts: list = [line]
    if observation.error:
        parts.append(Text.assemble(("         error: ", "red"), Text(observation.error)))
    if record.agent_error:
        parts.append(Text.assemble(("         agent: ", "yellow"), Text(record.agent_error)))
    if record.action.action_type is ActionType.REPLACE_LINES or version.changed:
        if version.diff:
            parts.append(Panel(Syntax(version.diff, "diff", theme="ansi_dark", word_wrap=True),
                               title=Text("diff"), title_align="left", expand=False))
        elif record.action.action_type is ActionType.REPLACE_LINES:
            parts.append(Text("         (the program did not change)", style="dim"))
    if observation.test_results and record.action.action_type in (ActionType.RUN_TESTS, ActionType.SUBMIT):
        parts.append(tests_table(observation))
    if observation.output.strip() and record.action.action_type is ActionType.RUN_TESTS:
        parts.append(Panel(Text(observation.output.rstrip()), title=Text("program output (tail)"), title_align="left", expand=False))
    return parts


def summary_renderables(trajectory: Trajectory) -> list:
    final = trajectory.final_observation
    if trajectory.done:
        verdict = Text("success", style="bold green") if final.success else Text("not solved", style="bold yellow")
        score = f"{final.score or 0:.2f}"
        hidden = f" · hidden tests {final.hidden_passed}/{final.hidden_total}" if final.hidden_total is not None else ""
    else:
        verdict = Text("unfinished", style="bold red")
        score = "-"
        hidden = ""
    line = Text.assemble(verdict, f" · score {score} · return {trajectory.episode_return:+.2f} · "
                         f"{len(trajectory.steps)} steps{hidden}")
    rewards = Text("rewards: ")
    for index, reward in enumerate(trajectory.rewards):
        if index:
            rewards.append(" ")
        rewards.append_text(_reward_text(reward))
    parts: list = [line, rewards]
    footer = trajectory.footer
    if footer is None:
        parts.append(Text("the file has no footer: the recording stopped before the episode was closed", style="yellow"))
    elif footer.error:
        parts.append(Text.assemble(("ended: ", "yellow"), Text(f"{footer.ended}: {footer.error}")))
    return parts


def render_trajectory(console: Console, trajectory: Trajectory, *, step: Optional[int] = None) -> None:
    """Print the episode (or only step ``step``, with the program as it was before it)."""
    versions = program_versions(trajectory.header.observation, [(s.action, s.observation) for s in trajectory.steps])
    console.print(header_panel(trajectory))
    if step is None:
        console.print(code_panel(versions[0], "program at reset"))
    for record, version in zip(trajectory.steps, versions[1:]):
        if step is not None and record.step != step:
            continue
        if step is not None:
            console.print(code_panel(versions[record.step - 1], f"program before step {record.step}"))
        for part in step_renderables(record, version):
            console.print(part)
    console.rule()
    for part in summary_renderables(trajectory):
        console.print(part)


__all__ = ["render_trajectory"]

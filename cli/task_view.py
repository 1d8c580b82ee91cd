"""``tracefix tasks show``: one task as a person reads it (numbered code, a table of tests).

The agent-facing parts (description, buggy code, visible tests) are always shown; the reference
code, the setup code and hidden tests only with ``--reveal``.  Task text is printed as
``rich.text.Text`` (never as markup) and code with ``soft_wrap`` so that every line is shown exactly
as stored, with the line numbers REPLACE_LINES uses.
"""

from __future__ import annotations

from typing import Any, Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tracefix.core.context import render, split_lines
from tracefix.tasks.codec import decode_value
from tracefix.tasks.schema import EvalStep, Task, TaskTest


def describe_step(step: Any) -> str:
    """``chunk([1], 1) == [[1]]``-style one-liner of a test step (the expected value decoded)."""
    if not isinstance(step, EvalStep):
        return step.exec
    if step.raises is not None:
        return f"{step.eval}  raises {step.raises}"
    expected = repr(decode_value(step.expect))
    if step.approx is not None:
        return f"{step.eval} ≈ {expected}  (relative tolerance {step.approx:g})"
    return f"{step.eval} == {expected}"


def tests_table(title: str, tests: Sequence[TaskTest]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("test", no_wrap=True)
    table.add_column("steps (run in order; every one must pass)", overflow="fold")
    for test in tests:
        table.add_row(Text(test.name), Text("\n".join(describe_step(step) for step in test.steps)))
    return table


def _code(console: Console, heading: str, code: str) -> None:
    console.rule(Text(heading, "bold"), align="left")
    console.print(Text(render(split_lines(code)).text), soft_wrap=True)


def print_task(console: Console, task: Task, *, reveal: bool = False) -> None:
    header = Text.assemble((task.id, "bold"), f" · {task.difficulty}")
    if task.title:
        header.append(f" · {task.title}")
    console.print(header, soft_wrap=True)
    if task.tags:
        console.print(Text(f"tags: {', '.join(task.tags)}", "dim"), soft_wrap=True)
    console.print(Text(task.description))
    _code(console, "buggy code (what the agent starts from)", task.buggy_code)
    console.print(tests_table(f"{len(task.visible_tests)} visible tests", task.visible_tests))
    if not reveal:
        console.print(Text(f"{len(task.hidden_tests)} hidden tests (--reveal shows them and the reference code)", "dim"))
        return
    if task.setup_code:
        _code(console, "setup code (trusted, runs after the candidate module)", task.setup_code)
    _code(console, "reference code (never shown to the agent)", task.reference_code)
    console.print(tests_table(f"{len(task.hidden_tests)} hidden tests", task.hidden_tests))

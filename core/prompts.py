"""The system prompts given to agents: JSON replies (``inference.py``, the ``llm`` agent, observation
metadata) and tool calls (the TRL tool environment, the exported training dataset).

Both are built from the same paragraphs and from the action table of :mod:`tracefix.core.actions`,
so the two ways of acting are described in the same words.
"""

from __future__ import annotations

from tracefix.core.actions import ACTIONS, prompt_listing
from tracefix.core.constants import MAX_STEPS

_TASK = """You are debugging a Python program in the TraceFix environment.
The program is shown with line numbers ("  3 | code"). It has one or more bugs: make it match its
description so that its tests pass. Some tests are hidden and only count when you submit, so fix
the real bug; do not special-case the visible tests."""

_SCORING = """Each step costs a little; syntax errors, invalid line numbers, undo/reset,
deleting most of the program and repeating the same action are penalised. The final score is the
fraction of all tests that pass minus the accumulated step costs, and it is 0 unless your program
passes more tests than the original did."""

SYSTEM_PROMPT = f"""{_TASK}

Reply with exactly one JSON object per turn, one of:
{prompt_listing()}

You have {MAX_STEPS} steps. {_SCORING}"""


def tool_listing(indent: str = "  ") -> str:
    """One line per tool: its call signature and summary (the tools' full docs travel with the tools)."""
    lines = []
    for spec in ACTIONS:
        call = f"{spec.tool}({', '.join(arg.tool_name for arg in spec.args)})"
        lines.append(f"{indent}{call}: {spec.summary}")
    return "\n".join(lines)


TOOL_SYSTEM_PROMPT = f"""{_TASK}

Work by calling the tools, one call per turn:
{tool_listing()}

Every tool call is one step; the steps left are shown after each call, and when they run out the
code is evaluated as if you had submitted.
{_SCORING} Call submit() when you are done."""

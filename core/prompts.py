"""The system prompt given to agents (placed in the observation metadata and used by ``inference.py``)."""

from __future__ import annotations

from tracefix.core.actions import prompt_listing
from tracefix.core.constants import MAX_STEPS

SYSTEM_PROMPT = f"""You are debugging a Python program in the TraceFix environment.
The program is shown with line numbers ("  3 | code"). It has one or more bugs: make it match its
description so that its tests pass. Some tests are hidden and only count when you submit, so fix
the real bug; do not special-case the visible tests.

Reply with exactly one JSON object per turn, one of:
{prompt_listing()}

You have {MAX_STEPS} steps. Each step costs a little; syntax errors, invalid line numbers, undo/reset,
deleting most of the program and repeating the same action are penalised. The final score is the
fraction of all tests that pass minus the accumulated step costs, and it is 0 unless your program
passes more tests than the original did."""

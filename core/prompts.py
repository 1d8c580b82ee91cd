"""The system prompt given to agents (placed in the observation metadata and used by ``inference.py``)."""

from __future__ import annotations

from tracefix.core.constants import MAX_STEPS

SYSTEM_PROMPT = f"""You are debugging a Python program in the TraceFix environment.
The program is shown with line numbers ("  3 | code"). It has one or more bugs: make it match its
description so that its tests pass. Some tests are hidden and only count when you submit, so fix
the real bug; do not special-case the visible tests.

Reply with exactly one JSON object per turn, one of:
  {{"action_type": "VIEW_CODE"}}                      show the whole program
  {{"action_type": "RUN_TESTS"}}                      run the visible tests on the current code
  {{"action_type": "REPLACE_LINES", "start_line": 3, "end_line": 4, "new_code_block": "    return a + b"}}
      replace lines 3..4 (1-indexed, inclusive) with the block; keep indentation; "" deletes them
  {{"action_type": "UNDO_EDIT"}}                      revert the last edit
  {{"action_type": "RESET_TO_ORIGINAL"}}              go back to the original program
  {{"action_type": "SUBMIT"}}                         finish: all tests, visible and hidden, are run

You have {MAX_STEPS} steps. Each step costs a little; syntax errors, invalid line numbers, undo/reset,
deleting most of the program and repeating the same action are penalised. The final score is the
fraction of all tests that pass minus the accumulated step costs, and it is 0 unless your program
passes more tests than the original did."""

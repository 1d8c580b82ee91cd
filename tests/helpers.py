"""Small helpers shared by tests (no fixtures here: see conftest.py)."""

from __future__ import annotations

from tracefix.models import ActionType, CodeAction

EASY_TASK = "curated/chunk_off_by_one"
LRU_TASK = "curated/lru_cache_class"


def act(kind: str, **fields) -> CodeAction:
    return CodeAction(action_type=ActionType(kind), **fields)


def replace(start: int, end: int, block: str) -> CodeAction:
    return CodeAction(action_type=ActionType.REPLACE_LINES, start_line=start, end_line=end, new_code_block=block)


VIEW = act("VIEW_CODE")
RUN = act("RUN_TESTS")
UNDO = act("UNDO_EDIT")
RESET = act("RESET_TO_ORIGINAL")
SUBMIT = act("SUBMIT")

# The one-line fix of EASY_TASK (line 9: range(0, len(items) - 1, size) -> range(0, len(items), size)).
EASY_FIX = replace(9, 9, "    for start in range(0, len(items), size):")

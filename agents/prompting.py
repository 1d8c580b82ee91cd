"""Observation -> text for language-model agents (``inference.py``, the ``llm`` agent, TRL adapters).

The rendering shows exactly what the observation holds (nothing privileged): the task description,
the numbered code view, the visible test results with their messages, the outcome of the last
action, and the remaining budget.  :func:`build_messages` puts it after the system prompt of
:mod:`tracefix.core.prompts`, with an optional short history of earlier turns.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

from tracefix.core.prompts import SYSTEM_PROMPT
from tracefix.models import CodeObservation

MAX_TEST_MESSAGE_CHARS = 600
MAX_OUTPUT_CHARS_IN_PROMPT = 600


def _clip(text: str, limit: int) -> str:
    text = text.rstrip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


JSON_REPLY_HINT = "Reply with one JSON action."
TOOL_REPLY_HINT = "Call one tool."


def render_observation(
    observation: CodeObservation, *, include_description: bool = True, reply_hint: str = JSON_REPLY_HINT
) -> str:
    """A plain-text rendering of one observation, for a user message (or a tool result: pass
    ``reply_hint=TOOL_REPLY_HINT``, the only difference)."""
    parts: list[str] = []
    if include_description and observation.description:
        header = f"Task {observation.task_id}" + (f" ({observation.difficulty})" if observation.difficulty else "")
        parts.append(f"{header}\n{observation.description.strip()}")
    if observation.last_action:
        parts.append(f"Last action: {observation.last_action}")
    if observation.message:
        parts.append(f"Result: {observation.message}")
    if observation.error:
        parts.append(f"Error: {observation.error}")
    if observation.code_view:
        if observation.view_start <= 1 and observation.view_end >= observation.total_lines:
            title = f"Code (all {observation.total_lines} lines):"
        else:
            title = (
                f"Code (lines {observation.view_start}-{observation.view_end} of {observation.total_lines}; "
                "VIEW_CODE shows all):"
            )
        parts.append(f"{title}\n{observation.code_view}")
    if observation.test_results:
        passed = observation.tests_passed if observation.tests_passed is not None else sum(
            r.passed for r in observation.test_results
        )
        lines = [f"Visible tests: {passed}/{observation.tests_total or len(observation.test_results)} pass"]
        for result in observation.test_results:
            mark = "PASS" if result.passed else "FAIL"
            line = f"- {mark} {result.name}"
            if not result.passed and result.message:
                line += ": " + _clip(result.message, MAX_TEST_MESSAGE_CHARS).replace("\n", "\n    ")
            lines.append(line)
        parts.append("\n".join(lines))
    if observation.output.strip():
        parts.append("Program output (tail):\n" + _clip(observation.output, MAX_OUTPUT_CHARS_IN_PROMPT))
    if observation.done:
        parts.append(
            f"Episode over. Score {observation.score if observation.score is not None else 0:.2f}, "
            f"success {bool(observation.success)}."
        )
    else:
        parts.append(
            f"Steps used {observation.steps_used}, steps left {observation.steps_remaining}. {reply_hint}"
        )
    return "\n\n".join(parts)


def build_messages(
    observation: CodeObservation,
    history: Sequence[tuple[str, str]] = (),
    *,
    system_prompt: Optional[str] = None,
    include_description: bool = True,
) -> list[dict[str, str]]:
    """Chat messages: the system prompt, earlier ``(user, assistant)`` turns, then this observation."""
    messages = [{"role": "system", "content": system_prompt or SYSTEM_PROMPT}]
    for user, assistant in history:
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": assistant})
    messages.append({"role": "user", "content": render_observation(observation, include_description=include_description)})
    return messages


def repair_message(error: str) -> str:
    """The user message of the one repair retry after an unusable reply."""
    return (
        f"Your reply could not be used: {error}.\n"
        "Answer again with exactly one JSON object and nothing else, for example "
        '{"action_type": "RUN_TESTS"} or {"action_type": "REPLACE_LINES", "start_line": 3, "end_line": 3, '
        '"new_code_block": "    return x"}.'
    )


def join_turns(turns: Iterable[tuple[str, str]], keep: int) -> list[tuple[str, str]]:
    """The last ``keep`` turns (0 keeps none)."""
    turns = list(turns)
    return turns[-keep:] if keep > 0 else []


__all__ = ["JSON_REPLY_HINT", "TOOL_REPLY_HINT", "build_messages", "join_turns", "render_observation", "repair_message"]

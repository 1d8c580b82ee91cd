"""The six actions, defined once: name, tool name, arguments, documentation and rendering.

Everything that presents the action space to an agent or a person reads this table: the system
prompt, the ``llm`` agent's examples, the TRL tool environment, the MCP tools and the web page.
Changing a description here changes it everywhere, so the surfaces cannot drift apart.

The wire format stays :class:`tracefix.models.CodeAction`; this module only describes it and
converts tool calls (``replace_lines(start_line=3, end_line=4, new_code="...")``) into it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from tracefix.models import ActionType, CodeAction


@dataclass(frozen=True)
class ActionArg:
    """One argument of an action, as a tool exposes it."""

    tool_name: str
    """Argument name in tool calls (``new_code``), shorter than the wire field."""
    field: str
    """The :class:`CodeAction` field it fills (``new_code_block``)."""
    type: type
    doc: str


@dataclass(frozen=True)
class ActionSpec:
    """Everything about one action that any surface needs to show or call it."""

    action_type: ActionType
    tool: str
    """snake_case name used for tools (TRL, MCP) and buttons."""
    summary: str
    """One line: what the action does (the system prompt, tool descriptions, button tooltips)."""
    detail: str = ""
    """Extra sentences for tool descriptions and docs."""
    args: tuple[ActionArg, ...] = ()
    example: Mapping[str, Any] = field(default_factory=dict)
    """A representative action as the JSON object the ``llm`` agent emits."""

    @property
    def name(self) -> str:
        return self.action_type.value

    def example_json(self) -> str:
        return json.dumps(dict(self.example), ensure_ascii=False)

    def description(self) -> str:
        """The full tool description: summary, detail, and an ``Args:`` section when there are arguments."""
        text = self.summary if not self.detail else f"{self.summary} {self.detail}"
        if self.args:
            text += "\n\nArgs:\n" + "\n".join(f"    {arg.tool_name}: {arg.doc}" for arg in self.args)
        return text

    def to_action(self, **arguments: Any) -> CodeAction:
        """Build the wire action from tool-call arguments; unknown or missing arguments are errors."""
        known = {arg.tool_name: arg for arg in self.args}
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            accepted = ", ".join(known) or "none"
            raise ValueError(f"{self.tool} got unexpected argument(s) {', '.join(unknown)}; accepted: {accepted}")
        missing = [name for name in known if arguments.get(name) is None]
        if missing:
            raise ValueError(f"{self.tool} needs argument(s) {', '.join(missing)}")
        payload: dict[str, Any] = {"action_type": self.name}
        payload.update({known[name].field: value for name, value in arguments.items()})
        return CodeAction.model_validate(payload)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        ActionType.VIEW_CODE,
        "view_code",
        "Show the whole program with line numbers.",
        example={"action_type": "VIEW_CODE"},
    ),
    ActionSpec(
        ActionType.RUN_TESTS,
        "run_tests",
        "Run the visible tests on the current code.",
        "Failures say what was expected and what came back, or show the traceback.",
        example={"action_type": "RUN_TESTS"},
    ),
    ActionSpec(
        ActionType.REPLACE_LINES,
        "replace_lines",
        "Replace lines start_line..end_line (1-indexed, inclusive) with new code.",
        "Keep the indentation of the surrounding code; an empty string deletes the lines.",
        args=(
            ActionArg("start_line", "start_line", int, "First line to replace (1-indexed, as numbered in the code view)."),
            ActionArg("end_line", "end_line", int, "Last line to replace (inclusive, at least start_line)."),
            ActionArg("new_code", "new_code_block", str, "The replacement source lines; an empty string deletes them."),
        ),
        example={"action_type": "REPLACE_LINES", "start_line": 3, "end_line": 4, "new_code_block": "    return a + b"},
    ),
    ActionSpec(
        ActionType.UNDO_EDIT,
        "undo_edit",
        "Revert the last edit.",
        example={"action_type": "UNDO_EDIT"},
    ),
    ActionSpec(
        ActionType.RESET_TO_ORIGINAL,
        "reset_to_original",
        "Go back to the original program.",
        "UNDO_EDIT brings your version back.",
        example={"action_type": "RESET_TO_ORIGINAL"},
    ),
    ActionSpec(
        ActionType.SUBMIT,
        "submit",
        "Finish the episode: all tests, visible and hidden, are run and the code is scored.",
        example={"action_type": "SUBMIT"},
    ),
)

BY_TYPE: dict[ActionType, ActionSpec] = {spec.action_type: spec for spec in ACTIONS}
BY_TOOL: dict[str, ActionSpec] = {spec.tool: spec for spec in ACTIONS}


def spec_for(action: ActionType | str) -> ActionSpec:
    """The spec of an action given as an :class:`ActionType`, its name or its tool name."""
    if isinstance(action, ActionType):
        return BY_TYPE[action]
    key = str(action).strip()
    if key in BY_TOOL:
        return BY_TOOL[key]
    try:
        return BY_TYPE[ActionType(key.upper())]
    except ValueError:
        names = ", ".join(spec.name for spec in ACTIONS)
        raise ValueError(f"unknown action {action!r}; use one of {names}") from None


def action_from_tool_call(tool: str, arguments: Mapping[str, Any] | None = None) -> CodeAction:
    """``action_from_tool_call("replace_lines", {"start_line": 3, ...})`` -> :class:`CodeAction`."""
    return spec_for(tool).to_action(**dict(arguments or {}))


def prompt_listing(indent: str = "  ", width: int = 50) -> str:
    """The action list of the system prompt: each example JSON with what it does."""
    lines = []
    for spec in ACTIONS:
        example = spec.example_json()
        if len(example) < width and not spec.args:
            lines.append(f"{indent}{example.ljust(width)}{spec.summary[0].lower()}{spec.summary[1:].rstrip('.')}")
        else:
            lines.append(f"{indent}{example}")
            text = f"{spec.summary} {spec.detail}".strip()
            lines.append(f"{indent}    {text[0].lower()}{text[1:].rstrip('.')}")
    return "\n".join(lines)


__all__ = ["ACTIONS", "ActionArg", "ActionSpec", "BY_TOOL", "BY_TYPE", "action_from_tool_call", "prompt_listing", "spec_for"]

"""The one table of actions (core.actions) that every surface reads."""

from __future__ import annotations

import json

import pytest

from tracefix.core.actions import ACTIONS, BY_TOOL, action_from_tool_call, prompt_listing, spec_for
from tracefix.core.prompts import SYSTEM_PROMPT
from tracefix.models import ActionType, CodeAction


def test_every_action_type_has_exactly_one_spec() -> None:
    assert sorted(spec.action_type for spec in ACTIONS) == sorted(ActionType)
    assert len(BY_TOOL) == len(ACTIONS)


@pytest.mark.parametrize("spec", ACTIONS, ids=lambda s: s.tool)
def test_examples_are_valid_actions_and_appear_in_the_system_prompt(spec) -> None:
    action = CodeAction.model_validate(spec.example)
    assert action.action_type is spec.action_type
    assert spec.example_json() in SYSTEM_PROMPT
    assert spec.example_json() in prompt_listing()


def test_tool_descriptions_document_every_argument() -> None:
    replace = spec_for("replace_lines")
    text = replace.description()
    assert "Args:" in text
    for name in ("start_line", "end_line", "new_code"):
        assert f"    {name}: " in text
    assert "Args:" not in spec_for("SUBMIT").description()


def test_tool_calls_become_wire_actions() -> None:
    action = action_from_tool_call("replace_lines", {"start_line": 2, "end_line": 3, "new_code": "x = 1"})
    assert action == CodeAction(action_type="REPLACE_LINES", start_line=2, end_line=3, new_code_block="x = 1")
    assert action_from_tool_call("run_tests").action_type is ActionType.RUN_TESTS
    assert spec_for("undo_edit") is spec_for(ActionType.UNDO_EDIT) is spec_for("undo_edit".upper())


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("replace_lines", {"start_line": 2, "end_line": 3}, "needs argument(s) new_code"),
        ("submit", {"force": True}, "unexpected argument(s) force; accepted: none"),
        ("replace_lines", {"start_line": 3, "end_line": 2, "new_code": ""}, "end_line (2) must be >= start_line (3)"),
        ("jump", {}, "unknown action 'jump'"),
    ],
)
def test_bad_tool_calls_are_clear_errors(tool, arguments, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        action_from_tool_call(tool, arguments)


def test_examples_round_trip_through_json() -> None:
    for spec in ACTIONS:
        assert json.loads(spec.example_json()) == dict(spec.example)

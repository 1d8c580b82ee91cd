"""Model replies -> actions: JSON found in fences, think blocks, prose, single quotes and truncated text."""

from __future__ import annotations

import pytest

from tracefix.agents.parsing import ActionParseError, parse_action, strip_thinking
from tracefix.agents.prompting import build_messages, render_observation
from tracefix.core.prompts import SYSTEM_PROMPT
from tracefix.models import ActionType, CodeObservation, TestResult


@pytest.mark.parametrize(
    "text, kind",
    [
        ('{"action_type": "RUN_TESTS"}', ActionType.RUN_TESTS),
        ('```json\n{"action_type": "view_code"}\n```', ActionType.VIEW_CODE),
        ('<think>maybe { "action_type": "UNDO_EDIT" }?</think>\n{"action_type": "SUBMIT"}', ActionType.SUBMIT),
        ("Sure! Here is my action: {'action_type': 'RUN_TESTS'} Good luck.", ActionType.RUN_TESTS),
        ('{"action": "RESET_TO_ORIGINAL"}', ActionType.RESET_TO_ORIGINAL),
        ("RUN_TESTS", ActionType.RUN_TESTS),
        ('{"action_type": "RUN_TESTS",}', ActionType.RUN_TESTS),
    ],
)
def test_actions_are_found(text, kind):
    assert parse_action(text).action_type is kind


def test_replace_lines_with_braces_and_quotes_inside_the_code():
    text = (
        'I will fix it.\n```json\n{"action_type": "REPLACE_LINES", "start_line": "3", "end_line": 4, '
        '"new_code_block": "    d = {\\"a\\": 1}\\n    return f\'{d}\'\\n"}\n```'
    )
    action = parse_action(text)
    assert (action.start_line, action.end_line) == (3, 4)
    assert action.new_code_block == "    d = {\"a\": 1}\n    return f'{d}'\n"


def test_a_truncated_reply_is_closed_up():
    action = parse_action('{"action_type": "REPLACE_LINES", "start_line": 2, "end_line": 2, "new_code_block": "    return x')
    assert action.action_type is ActionType.REPLACE_LINES and action.new_code_block == "    return x"


def test_an_unterminated_think_block_is_dropped():
    assert strip_thinking('{"action_type": "SUBMIT"} <think> and then') == '{"action_type": "SUBMIT"}'


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("I am not sure what to do.", "no JSON object"),
        ('{"action_type": "REPLACE_LINES", "start_line": 9}', "REPLACE_LINES requires"),
        ('{"action_type": "DANCE"}', "not a valid action"),
        ("RUN_TESTS or SUBMIT?", "no JSON object"),
    ],
)
def test_unusable_replies_say_why(text, fragment):
    with pytest.raises(ActionParseError, match=fragment):
        parse_action(text)


def test_rendering_shows_what_the_agent_sees_and_nothing_else():
    observation = CodeObservation(
        task_id="curated/x", difficulty="easy", description="Adds numbers.", code_view="1 | def f():\n2 |     return 1",
        view_start=1, view_end=2, total_lines=2, tests_total=1, tests_passed=0,
        test_results=[TestResult(name="t", passed=False, message="`f()`: expected 2, got 1")],
        message="0/1 visible tests pass.", last_action="RUN_TESTS", steps_used=1, steps_remaining=49,
    )
    text = render_observation(observation)
    for fragment in ("Adds numbers.", "1 | def f():", "FAIL t: `f()`: expected 2, got 1", "steps left 49", "0/1 visible"):
        assert fragment in text
    messages = build_messages(observation, [("earlier", '{"action_type": "VIEW_CODE"}')])
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]

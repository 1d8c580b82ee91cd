"""Wire schemas of TraceFix: the action an agent sends, the observation it gets back, and the state.

They subclass OpenEnv's ``Action`` / ``Observation`` / ``State`` so that ``create_app`` validates and
serialises them, and so that any OpenEnv client can talk to the server.  Everything is pydantic v2.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Optional

from openenv.core.env_server.types import Action, Observation, State
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tracefix.core.constants import MAX_NEW_CODE_CHARS, MAX_STEPS


class ActionType(str, Enum):
    """The six things an agent can do."""

    VIEW_CODE = "VIEW_CODE"
    RUN_TESTS = "RUN_TESTS"
    REPLACE_LINES = "REPLACE_LINES"
    UNDO_EDIT = "UNDO_EDIT"
    RESET_TO_ORIGINAL = "RESET_TO_ORIGINAL"
    SUBMIT = "SUBMIT"


_EDIT_FIELDS = ("start_line", "end_line", "new_code_block")


class CodeAction(Action):
    """One agent action.

    ``start_line``/``end_line`` are 1-indexed and inclusive, as the agent sees them in the numbered
    code view.  ``new_code_block`` replaces those lines; an empty string deletes them.  For every
    action other than REPLACE_LINES the three edit fields are ignored and set to ``None``.
    """

    action_type: ActionType = Field(description="One of " + ", ".join(a.value for a in ActionType))
    start_line: Optional[int] = Field(default=None, ge=1, description="First line to replace (1-indexed)")
    end_line: Optional[int] = Field(default=None, ge=1, description="Last line to replace (inclusive)")
    new_code_block: Optional[str] = Field(
        default=None,
        max_length=MAX_NEW_CODE_CHARS,
        description="Replacement source for lines start_line..end_line ('' deletes them)",
    )

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        """Accept lower-case action names and null the edit fields for non-edit actions."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        kind = data.get("action_type")
        if isinstance(kind, str):
            kind = kind.strip().upper()
            data["action_type"] = kind
        if kind != ActionType.REPLACE_LINES.value and kind != ActionType.REPLACE_LINES:
            for name in _EDIT_FIELDS:
                data[name] = None
        return data

    @field_validator("new_code_block", mode="before")
    @classmethod
    def _encodable(cls, value: Any) -> Any:
        """Reject text no UTF-8 program can hold (a lone surrogate such as ``"\\ud800"`` in JSON),
        with a message that says so (pydantic's own string check, where it has one, does not)."""
        if not isinstance(value, str):
            return value
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PydanticCustomError(
                "unencodable_text",
                "new_code_block is not valid Unicode text: character {position} is a lone surrogate ({code}); "
                "send the character itself or a complete surrogate pair",
                {"position": exc.start + 1, "code": f"\\u{ord(value[exc.start]):04x}"},
            ) from None
        return value

    @model_validator(mode="after")
    def _check_edit(self) -> "CodeAction":
        if self.action_type is ActionType.REPLACE_LINES:
            missing = [name for name in _EDIT_FIELDS if getattr(self, name) is None]
            if missing:
                raise PydanticCustomError("missing_edit_fields", "REPLACE_LINES requires {fields}", {"fields": ", ".join(missing)})
            assert self.start_line is not None and self.end_line is not None
            if self.end_line < self.start_line:
                # PydanticCustomError keeps the error JSON-serialisable (a ValueError in ``ctx`` is not,
                # and OpenEnv returns ``errors()`` verbatim in its 422 response).
                raise PydanticCustomError(
                    "line_range",
                    "end_line ({end}) must be >= start_line ({start}); lines are 1-indexed and inclusive",
                    {"start": self.start_line, "end": self.end_line},
                )
        return self

    def short(self) -> str:
        """Compact one-line rendering used in logs (``REPLACE_LINES(3-4)``)."""
        if self.action_type is ActionType.REPLACE_LINES:
            return f"REPLACE_LINES({self.start_line}-{self.end_line})"
        return self.action_type.value


class TestResult(BaseModel):
    """The verdict on one visible test (hidden tests are only ever reported as counts)."""

    __test__ = False  # not a pytest test class

    model_config = ConfigDict(extra="forbid")

    name: str
    passed: bool
    message: str = Field(default="", description="Why it failed: expected vs got, exception, timeout")


class CodeObservation(Observation):
    """What the agent sees after ``reset`` and after each ``step``."""

    task_id: str = ""
    difficulty: str = ""
    description: str = Field(default="", description="What the program is meant to do")
    code_view: str = Field(default="", description="Numbered source lines (full or a context window)")
    view_start: int = Field(default=1, description="First line number shown in code_view")
    view_end: int = Field(default=0, description="Last line number shown in code_view")
    total_lines: int = 0
    test_results: list[TestResult] = Field(default_factory=list)
    tests_passed: Optional[int] = Field(default=None, description="Visible tests passing at the last run")
    tests_total: int = Field(default=0, description="Number of visible tests")
    output: str = Field(default="", description="Tail of what the program printed during the last run")
    last_action: str = ""
    message: str = Field(default="", description="Outcome of the last action")
    error: Optional[str] = Field(default=None, description="Why the last action failed, if it did")
    steps_used: int = 0
    steps_remaining: int = MAX_STEPS
    score: Optional[float] = Field(default=None, description="Final score in [0, 1], set when done")
    success: Optional[bool] = Field(default=None, description="All tests (visible and hidden) pass, set when done")
    hidden_passed: Optional[int] = Field(default=None, description="Hidden tests passing, set when done")
    hidden_total: Optional[int] = Field(default=None, description="Number of hidden tests, set when done")


class TraceFixState(State):
    """Server-side episode state (never contains the reference code or hidden tests)."""

    task_id: Optional[str] = None
    difficulty: Optional[str] = None
    split: Optional[str] = None
    code: str = ""
    edit_depth: int = 0
    last_edited_line: Optional[int] = None
    accumulated_step_cost: float = 0.0
    total_reward: float = 0.0
    best_visible_passed: int = 0
    done: bool = False
    score: Optional[float] = None
    success: Optional[bool] = None
    max_steps: int = MAX_STEPS


__all__ = ["ActionType", "CodeAction", "CodeObservation", "TestResult", "TraceFixState"]

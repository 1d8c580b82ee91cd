"""The task format (``docs/task-format.md``, version 1) as pydantic models, and a JSON Lines reader.

A file that does not follow the format is rejected with :class:`TaskFileError`, whose message names
the file, the line number and the field (``tasks.jsonl:7: tests[2].steps[0].expect: ...``).
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Annotated, Any, Iterator, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError, field_validator, model_validator

from tracefix.core.constants import MAX_TIMEOUT_S
from tracefix.tasks.codec import ValueDecodeError, decode_value

TASK_ID_PATTERN = r"^[a-z0-9][a-z0-9_./-]*$"
Difficulty = Literal["easy", "medium", "hard"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


TRIVIAL_VALUES = (None, True, False, 0, 1, -1, 0.0, 1.0, "")
"""Expected values a program could claim without computing anything (with empty containers)."""


class ExecStep(_Strict):
    """A statement that passes when it raises nothing."""

    exec: str

    @property
    def guessable(self) -> bool:
        """Always: "raised nothing" is the one outcome an exec step expects (see EvalStep.guessable)."""
        return True


class EvalStep(_Strict):
    """An expression whose value must equal ``expect`` (optionally within ``approx``) or that must raise."""

    eval: str
    expect: Any = None
    approx: Optional[float] = Field(default=None, gt=0)
    raises: Optional[str] = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _one_outcome(cls, data: Any) -> Any:
        if isinstance(data, dict):
            has_expect = "expect" in data
            has_raises = "raises" in data
            if has_expect == has_raises:
                raise ValueError("an eval step needs exactly one of 'expect' or 'raises'")
            if has_raises and "approx" in data:
                raise ValueError("'approx' only goes with 'expect'")
        return data

    @field_validator("expect")
    @classmethod
    def _decodable(cls, value: Any) -> Any:
        try:
            decode_value(value)
        except ValueDecodeError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def expected_value(self) -> Any:
        """The decoded expected value (built-in Python types only)."""
        return decode_value(self.expect)

    @property
    def guessable(self) -> bool:
        """Whether a program could pass this step by claiming an outcome rather than computing it:
        an expected exception, or a trivial value (True/False/None, 0, 1, -1, an empty string or
        container).  Code runs in the process that evaluates the steps, so it can always bend such a
        step (monkeypatching, or writing the harness's frames itself); only a step with a value it
        must actually compute is evidence that a program is correct.  See ``decisive`` tests in
        :mod:`tracefix.tasks.baseline`."""
        if self.raises is not None:
            return True
        value = self.expected_value
        if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)) and len(value) == 0:
            return True
        return any(type(value) is type(trivial) and value == trivial for trivial in TRIVIAL_VALUES)


def _step_kind(step: Any) -> Optional[str]:
    if isinstance(step, (ExecStep, EvalStep)):
        return "eval-step" if isinstance(step, EvalStep) else "exec-step"
    if isinstance(step, dict) and ("exec" in step) != ("eval" in step):
        return "exec-step" if "exec" in step else "eval-step"
    return None


Step = Annotated[
    Union[Annotated[ExecStep, Tag("exec-step")], Annotated[EvalStep, Tag("eval-step")]],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step must have exactly one of 'exec' or 'eval'",
    ),
]


class TaskTest(_Strict):
    """One test: its steps run in order in one fresh namespace."""

    __test__ = False

    name: str = Field(min_length=1)
    visible: bool = True
    steps: list[Step] = Field(min_length=1)


class Task(_Strict):
    """One buggy program, its reference fix and its tests."""

    id: str = Field(pattern=TASK_ID_PATTERN)
    difficulty: Difficulty
    description: str = Field(min_length=1)
    buggy_code: str = Field(min_length=1)
    reference_code: str = Field(min_length=1)
    tests: list[TaskTest] = Field(min_length=1)
    setup_code: str = ""
    title: str = ""
    tags: list[str] = Field(default_factory=list)
    timeout_s: Optional[float] = Field(default=None, gt=0, le=MAX_TIMEOUT_S)
    source: str = ""
    license: str = ""

    @field_validator("timeout_s", mode="before")
    @classmethod
    def _int_timeout(cls, value: Any) -> Any:
        return float(value) if type(value) is int else value

    @model_validator(mode="after")
    def _unique_test_names(self) -> "Task":
        seen: set[str] = set()
        for test in self.tests:
            if test.name in seen:
                raise ValueError(f"duplicate test name {test.name!r}")
            seen.add(test.name)
        return self

    @property
    def visible_tests(self) -> list[TaskTest]:
        return [t for t in self.tests if t.visible]

    @property
    def hidden_tests(self) -> list[TaskTest]:
        return [t for t in self.tests if not t.visible]

    @property
    def expects_syntax_error(self) -> bool:
        """Whether the tags say the bug *is* a syntax error (then the buggy code may not compile)."""
        return any(tag in ("syntax-error", "syntax_error", "bug:syntax") for tag in self.tags)

    def public_view(self) -> dict[str, Any]:
        """What may be shown to an agent or over the task API: no reference, no hidden tests."""
        return {
            "id": self.id,
            "title": self.title,
            "difficulty": self.difficulty,
            "description": self.description,
            "buggy_code": self.buggy_code,
            "tags": list(self.tags),
            "visible_tests": [t.model_dump(exclude_unset=True) for t in self.visible_tests],
            "num_hidden_tests": len(self.hidden_tests),
            "source": self.source,
            "license": self.license,
        }


class TaskFileError(ValueError):
    """A task file does not follow the format; the message names file, line and field."""

    def __init__(self, path: str, line: int, problems: list[str]):
        self.path = path
        self.line = line
        self.problems = problems
        super().__init__("\n".join(f"{path}:{line}: {problem}" for problem in problems))


def _field_path(location: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("exec-step", "eval-step"):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(task)"


def parse_task(data: Any, *, path: str = "<task>", line: int = 1) -> Task:
    """Validate one decoded JSON object as a task, raising :class:`TaskFileError` with field paths."""
    if not isinstance(data, dict):
        raise TaskFileError(path, line, [f"(task): expected a JSON object, got {type(data).__name__}"])
    try:
        return Task.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{_field_path(tuple(error['loc']))}: {message}")
        raise TaskFileError(path, line, problems) from None


def parse_task_line(raw: str, *, path: str = "<task>", line: int = 1, shared: Optional["SharedParts"] = None) -> Task:
    """Parse one JSON Lines line as a task; bad JSON and bad fields both raise :class:`TaskFileError`."""
    text = raw.rstrip("\r\n")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskFileError(path, line, [f"(task): invalid JSON: {describe_json_error(exc, text)}"]) from None
    except (ValueError, RecursionError) as exc:  # integers too long to convert, nesting too deep
        raise TaskFileError(path, line, [f"(task): invalid JSON: {exc}"]) from None
    if shared is not None:
        data = shared.share(data)
    return parse_task(data, path=path, line=line)


def describe_json_error(exc: json.JSONDecodeError, text: str) -> str:
    """Say where a line's JSON goes wrong; a line that stops mid-object is called truncated.

    The line is parsed without its newline, so positions are columns of the line itself, and a cut
    line is not reported as an error "at column 1" of a line that does not exist.
    """
    reason = exc.msg.removesuffix(" at")
    size = f"the line has {len(text):,} characters"
    if reason.startswith("Unterminated string"):
        return f"the line ends inside the string that opens at column {exc.colno} (truncated, or a closing quote is missing; {size})"
    if exc.pos >= len(text.rstrip()):
        return f"the line ends before the JSON value is complete (truncated?; {size})"
    return f"{reason} at column {exc.colno}"


def read_lines(path: Path) -> Iterator[str]:
    """The text lines of a ``.jsonl`` or ``.jsonl.gz`` file (UTF-8)."""
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            yield from handle
    else:
        with path.open("r", encoding="utf-8") as handle:
            yield from handle


_TESTS = TypeAdapter(list[TaskTest])
_SHARED_TEXTS = ("title", "description", "reference_code", "setup_code", "source", "license")


class SharedParts:
    """Parts many tasks of one file have in common, validated and stored once.

    A generated corpus holds tens of tasks per seed program, each with the seed's description,
    reference and tests: validating those tests once and letting the tasks share one copy of them
    makes loading the 10,000-task corpus several times faster and its memory a fraction.  A part
    that does not validate is left alone, so the task's own validation reports it with its path.
    """

    def __init__(self) -> None:
        self._tests: dict[str, list[TaskTest]] = {}
        self._texts: dict[str, str] = {}

    def share(self, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        tests = data.get("tests")
        if isinstance(tests, list) and tests:
            key = json.dumps(tests, sort_keys=True, ensure_ascii=False)
            shared = self._tests.get(key)
            if shared is None:
                try:
                    shared = _TESTS.validate_python(tests, strict=True)
                except ValidationError:
                    shared = None
                else:
                    self._tests[key] = shared
            if shared is not None:
                data["tests"] = shared
        for name in _SHARED_TEXTS:
            value = data.get(name)
            if isinstance(value, str):
                data[name] = self._texts.setdefault(value, value)
        return data


def load_task_file(path: str | Path, *, collect_errors: bool = False) -> tuple[list[Task], list[TaskFileError]]:
    """Read every task of a file; with ``collect_errors`` keep going past bad lines and return them."""
    path = Path(path)
    tasks: list[Task] = []
    errors: list[TaskFileError] = []
    ids: dict[str, int] = {}
    shared = SharedParts()
    for number, raw in enumerate(read_lines(path), start=1):
        if not raw.strip():
            continue
        try:
            task = parse_task_line(raw, path=str(path), line=number, shared=shared)
            if task.id in ids:
                raise TaskFileError(str(path), number, [f"id: duplicate id {task.id!r} (first on line {ids[task.id]})"])
            ids[task.id] = number
            tasks.append(task)
        except TaskFileError as error:
            if not collect_errors:
                raise
            errors.append(error)
    return tasks, errors


def normalise_source(code: str) -> str:
    """Whitespace-insensitive form of a program, for 'buggy is not the reference' checks."""
    return re.sub(r"\s+", "", code)

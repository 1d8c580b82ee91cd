"""``tracefix tasks import FILE.jsonl``: check an outside task file line by line, in the real sandbox.

Every problem is reported with the line it is on: format errors name the field
(``tasks.jsonl:7: tests[2].steps[0].expect: ...``), validity problems name the rule
(``tasks.jsonl:9: gen/x: reference fails hidden test 'edge': ...``), and ids that clash with a task
already served name the split that has it.  A file with no problem can be served as its own split
(named after the file: ``tracefix serve --tasks-file FILE.jsonl`` serves split ``FILE``); with
``--out`` the valid lines are copied, byte for byte, to a new file (whose name is the split's).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from tracefix.tasks.registry import split_name_for
from tracefix.tasks.schema import Task, TaskFileError, parse_task_line, read_lines
from tracefix.tasks.verify import TaskVerdict, verify_tasks

if TYPE_CHECKING:
    from tracefix.sandbox import Sandbox
    from tracefix.tasks.registry import TaskRegistry


@dataclass
class LineProblem:
    line: int
    problems: list[str]
    task_id: Optional[str] = None

    def render(self, path: str) -> list[str]:
        who = f"{self.task_id}: " if self.task_id else ""
        return [f"{path}:{self.line}: {who}{problem}" for problem in self.problems]


@dataclass
class ImportResult:
    path: Path
    split: str
    tasks: list[Task] = field(default_factory=list)
    """Tasks that passed every check, in file order."""
    lines: dict[str, int] = field(default_factory=dict)
    """Task id -> line number."""
    raw: dict[str, str] = field(default_factory=dict)
    """Task id -> the line's exact text."""
    problems: list[LineProblem] = field(default_factory=list)
    total_lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def messages(self) -> list[str]:
        return [m for p in sorted(self.problems, key=lambda p: p.line) for m in p.render(str(self.path))]


def import_tasks(
    path: str | Path,
    *,
    split: Optional[str] = None,
    registry: "Optional[TaskRegistry]" = None,
    verify: bool = True,
    sandbox: "Optional[Sandbox]" = None,
    workers: int = 4,
    on_result: Optional[Callable[[TaskVerdict], None]] = None,
    on_parsed: Optional[Callable[[int], None]] = None,
) -> ImportResult:
    """Validate (format, unique ids, no clash with ``registry``) and verify (sandbox) every line of ``path``.

    ``split`` is the name the tasks will be served under (default: the file's, see :func:`split_name_for`).
    """
    path = Path(path)
    result = ImportResult(path, split or split_name_for(path))
    parsed: list[tuple[int, Task, str]] = []
    first_line: dict[str, int] = {}
    try:
        lines = list(enumerate(read_lines(path), start=1))
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        result.problems.append(LineProblem(0, [f"(file): cannot read: {exc}"]))
        return result
    for number, raw in lines:
        if not raw.strip():
            continue
        result.total_lines += 1
        try:
            task = parse_task_line(raw, path=str(path), line=number)
        except TaskFileError as error:
            result.problems.append(LineProblem(number, list(error.problems)))
            continue
        if task.id in first_line:
            result.problems.append(LineProblem(number, [f"id: duplicate id {task.id!r} (first on line {first_line[task.id]})"], task.id))
            continue
        first_line[task.id] = number
        parsed.append((number, task, raw.rstrip("\n")))
    if result.total_lines == 0:
        result.problems.append(
            LineProblem(0, ["(file): no tasks: the file is empty (a task file holds one JSON task per line; see docs/task-format.md)"])
        )
        return result
    if registry is not None:
        for number, task, _ in list(parsed):
            try:
                registry.get(task.id)
            except LookupError:
                continue
            owner = registry.split_of(task.id)
            result.problems.append(LineProblem(number, [f"id: {task.id!r} is already a task of split {owner!r}"], task.id))
        clashing = {p.line for p in result.problems}
        parsed = [entry for entry in parsed if entry[0] not in clashing]
        if result.split in registry.split_names():
            result.problems.append(
                LineProblem(0, [f"(file): split name {result.split!r} is already taken; give the file another name (or use --out NAME.jsonl)"])
            )
    if on_parsed is not None:
        on_parsed(len(parsed))
    if verify and parsed:
        verdicts = verify_tasks([t for _, t, _ in parsed], sandbox=sandbox, workers=workers, on_result=on_result)
    else:
        verdicts = [TaskVerdict(t.id, t.difficulty) for _, t, _ in parsed]
    for (number, task, raw), verdict in zip(parsed, verdicts):
        if not verdict.valid:
            result.problems.append(LineProblem(number, verdict.problems, task.id))
            continue
        result.tasks.append(task)
        result.lines[task.id] = number
        result.raw[task.id] = raw
    return result


def write_valid(result: ImportResult, out: str | Path) -> Path:
    """Copy the valid lines, unchanged, to ``out`` (gzip when it ends in ``.gz``)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(result.raw[t.id] + "\n" for t in result.tasks)
    if out.suffix == ".gz":
        with out.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
            handle.write(text.encode("utf-8"))
    else:
        out.write_text(text, encoding="utf-8")
    return out


class TaskFileRejected(ValueError):
    """A task file cannot be served: ``messages`` lists every problem, line by line."""

    def __init__(self, path: str | Path, messages: list[str]) -> None:
        self.messages = messages
        super().__init__(f"{path}: {len(messages)} problem(s)")


def registry_with_file(path: str | Path) -> "TaskRegistry":
    """The default tasks plus the tasks of ``path`` as their own split.

    The file is checked by the importer (format, ids unique and not already served, split name free;
    not the sandbox verification, which ``tracefix tasks import`` runs); every problem is collected
    into :class:`TaskFileRejected` rather than stopping at the first bad line.
    """
    from tracefix.tasks.registry import default_registry

    registry = default_registry()
    result = import_tasks(path, registry=registry, verify=False)
    if not result.ok:
        raise TaskFileRejected(path, list(result.messages()))
    registry.add_split(result.split, result.tasks)
    return registry

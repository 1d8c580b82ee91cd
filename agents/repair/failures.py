"""What the failing visible tests say: names, messages, tracebacks into ``solution.py``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

SOLUTION_FILE = "solution.py"
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>[\w<>.]+))?')
_EXPRESSION = re.compile(r"^`(?P<expr>.+?)`(?:\s|:|$)", re.DOTALL)
_SHOULD_RAISE = re.compile(r"should raise (?P<exc>[A-Za-z_][\w.]*)")
_EXCEPTION_LINE = re.compile(r"^(?P<exc>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Iteration|Warning|[A-Z]\w*))(?::|$)")
_SYNTAX_LINE = re.compile(r"SyntaxError at line (?P<line>\d+)|line (?P<line2>\d+)")


@dataclass
class Failure:
    """One failing visible test, as far as its message tells."""

    name: str
    message: str
    expression: Optional[str] = None
    frames: list[tuple[int, str]] = field(default_factory=list)
    """``(line, function)`` of each ``solution.py`` frame, outermost first."""
    exception: Optional[str] = None
    """Class name of the exception raised, when the message shows one."""
    expected_exception: Optional[str] = None
    got_none: bool = False
    timed_out: bool = False
    syntax_line: Optional[int] = None

    @classmethod
    def parse(cls, name: str, message: str) -> "Failure":
        failure = cls(name=name, message=message)
        match = _EXPRESSION.match(message.strip())
        if match:
            failure.expression = match.group("expr")
        for frame in _FRAME.finditer(message):
            if frame.group("file").endswith(SOLUTION_FILE):
                failure.frames.append((int(frame.group("line")), frame.group("func") or ""))
        raise_match = _SHOULD_RAISE.search(message)
        if raise_match:
            failure.expected_exception = raise_match.group("exc").split(".")[-1]
        for line in reversed([l.strip() for l in message.splitlines() if l.strip()]):
            exc = _EXCEPTION_LINE.match(line)
            if exc and ("raised" in message or "Traceback" in message):
                failure.exception = exc.group("exc").split(".")[-1]
                break
        if failure.exception is None:
            raised = re.search(r"raised (?P<exc>[A-Za-z_]\w*)(?::|\s|$)", message)
            if raised and raised.group("exc") != "Traceback":
                failure.exception = raised.group("exc")
        failure.got_none = bool(re.search(r"got None\s*$", message.strip()))
        failure.timed_out = "timeout" in message.lower() or "timed out" in message.lower()
        if message.startswith("SyntaxError"):
            syntax = _SYNTAX_LINE.search(message)
            if syntax:
                failure.syntax_line = int(syntax.group("line") or syntax.group("line2"))
        return failure


def parse_failures(results: Iterable[tuple[str, bool, str]]) -> list[Failure]:
    return [Failure.parse(name, message) for name, passed, message in results if not passed]

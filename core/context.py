"""Rendering of the program as the agent sees it: numbered lines, in full or around the last edit.

Line numbers here are the ones REPLACE_LINES takes and the ones tracebacks report (the sandbox
compiles the code exactly as shown, with nothing stripped or prepended).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracefix.core.constants import CONTEXT_RADIUS

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(code: str) -> list[str]:
    """Split source into lines the way Python's tokenizer does (not on form feeds or U+2028).

    A trailing newline does not make an extra line; an empty program is one empty line, so that
    line 1 always exists and can be replaced.
    """
    lines = _LINE_BREAK.split(code)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


def join_lines(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def block_lines(new_code_block: str) -> list[str]:
    """Lines of a REPLACE_LINES block: ``""`` means delete, ``"\\n"`` means one empty line."""
    if new_code_block == "":
        return []
    return split_lines(new_code_block)


def lines_to_block(lines: list[str]) -> str:
    """Inverse of :func:`block_lines`: the ``new_code_block`` that inserts exactly ``lines``."""
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class CodeView:
    text: str
    start: int
    end: int
    total: int


def render(lines: list[str], start: int = 1, end: int | None = None) -> CodeView:
    """Numbered view of ``lines[start-1:end]`` (1-indexed, inclusive), clipped to the program."""
    total = len(lines)
    end = total if end is None else min(end, total)
    start = max(1, min(start, total))
    width = len(str(total))
    text = "\n".join(f"{number:>{width}} | {lines[number - 1]}" for number in range(start, end + 1))
    return CodeView(text, start, end, total)


def window(lines: list[str], first_line: int, last_line: int | None = None, radius: int = CONTEXT_RADIUS) -> CodeView:
    """Context window: the edited range ``first_line..last_line`` plus ``radius`` lines each side."""
    last_line = first_line if last_line is None else max(first_line, last_line)
    return render(lines, first_line - radius, last_line + radius)

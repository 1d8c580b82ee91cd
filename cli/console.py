"""The consoles every ``tracefix`` command prints through, and the one way a command reports an error.

Errors go to stderr as ``error: <message>``: the message is printed verbatim (never read as Rich
markup, so brackets in paths or code survive) and never hard-wrapped (so a long path stays one
searchable line, whatever the terminal width).
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def print_error(message: str, label: str = "error:", style: str = "bold red") -> None:
    """Print ``label message`` on stderr; ``label`` is styled, ``message`` is plain text."""
    err_console.print(Text.assemble((label, style), " ", message), soft_wrap=True)


def print_warning(message: str, label: str = "warning:") -> None:
    """Print a yellow-labelled line on stderr (skipped seeds, skipped files)."""
    print_error(message, label=label, style="yellow")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise (``raise fail(...)``)."""
    print_error(message)
    return typer.Exit(code)


__all__ = ["console", "err_console", "fail", "print_error", "print_warning"]

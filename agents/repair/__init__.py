"""Fault localisation and candidate patches for the ``search`` agent (no execution, no task access).

Everything here works on what an agent sees: the program text (from the numbered code view) and the
visible test results (their names and failure messages: ``expected X, got Y``, ``should raise E``,
tracebacks with ``File "solution.py", line N``).  Code is parsed with :mod:`ast` and compiled with
:func:`compile` to discard candidates that would not compile; nothing is ever executed here.

:func:`localise` scores lines by suspiciousness: the deepest traceback frame first, then its
neighbourhood and the other frames, then the functions named in failing test expressions and the
functions they call (static call graph), then the rest of their classes, then everything else.

:func:`candidates` proposes *mutation-inverse* edits (the bug classes of the task corpus, undone):
swapped comparison / arithmetic / boolean operators, off-by-one constants and bounds, dropped
``± 1`` offsets, swapped variables, indices, arguments and callees, missing ``return``, wrong
exception classes, guards for a division by zero, state shared across calls or instances, loop exits,
adjacent statements swapped, missing ``self.`` updates, and a few syntax repairs.  Each candidate is
a whole new program with a priority = suspiciousness of its line × prior of its operator; the
message-directed ones (``got None`` → add a ``return``, ``should raise E`` → raise ``E``) get a floor.

Modules: :mod:`.failures` (what the failing tests say), :mod:`.program` (the parsed program and its
functions), :mod:`.localise` (suspiciousness of lines), :mod:`.builder` (:class:`Candidate` and the
collector every edit goes through), :mod:`.expressions`, :mod:`.statements` and :mod:`.structural`
(the edits, by what they change) and :mod:`.candidates` (the entry points).
"""

from __future__ import annotations

# __all__, plus (noqa) SOLUTION_FILE, CALL_DECAY, FunctionInfo and expr_kind: public in the former single module.
from tracefix.agents.repair.builder import Candidate
from tracefix.agents.repair.candidates import candidates, compiles, syntax_candidates
from tracefix.agents.repair.failures import SOLUTION_FILE, Failure, parse_failures  # noqa: F401
from tracefix.agents.repair.localise import CALL_DECAY, localise  # noqa: F401
from tracefix.agents.repair.program import FunctionInfo, Program, expr_kind  # noqa: F401

__all__ = ["Candidate", "Failure", "Program", "candidates", "compiles", "localise", "parse_failures", "syntax_candidates"]

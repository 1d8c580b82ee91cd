"""The ``search`` agent: a non-LLM program-repair baseline (generate-and-validate).

It uses only what any agent sees, through the environment's own actions:

1. the program, parsed from the numbered code view (``VIEW_CODE`` output, or the reset observation),
   kept in its own copy and checked against every code view that comes back;
2. ``RUN_TESTS`` on the original program: the failing visible tests, their ``expected X, got Y``
   messages and tracebacks (``File "solution.py", line N``);
3. candidate edits from :mod:`tracefix.agents.repair`, ranked by suspiciousness of their line ×
   prior of their mutation-inverse operator, tried most promising first: one ``REPLACE_LINES`` then
   one ``RUN_TESTS`` per candidate.  An edit is kept when the number of passing visible tests rises
   (and the candidates are then regenerated from the improved program and its new failures);
   otherwise it is undone;
4. ``SUBMIT`` as soon as every visible test passes, or when the budget runs out (after restoring the
   best program found).

Undoing is done by default *inside the next edit*: the next ``REPLACE_LINES`` spans the rejected
change as well and rewrites it back to the best program.  That is exactly what ``UNDO_EDIT`` would
restore, for one step instead of two and without the UNDO penalty.  ``undo="action"`` makes the agent
use ``UNDO_EDIT`` instead (3 steps per rejected candidate), for comparison.

It never reads the task registry, the reference code or hidden tests; the environment's step budget
(``steps_remaining``) is the only limit it plans with.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
from typing import Optional

from tracefix.agents.base import Agent
from tracefix.agents.random_agent import parse_code_view
from tracefix.agents.repair import Candidate, Failure, candidates, compiles
from tracefix.core.context import lines_to_block
from tracefix.core.constants import MAX_NEW_CODE_CHARS
from tracefix.models import ActionType, CodeAction, CodeObservation

log = logging.getLogger("tracefix.agents.search")

VIEW = CodeAction(action_type=ActionType.VIEW_CODE)
RUN = CodeAction(action_type=ActionType.RUN_TESTS)
UNDO = CodeAction(action_type=ActionType.UNDO_EDIT)
SUBMIT = CodeAction(action_type=ActionType.SUBMIT)
REJECTED_DISCOUNT = 0.3
NEARER_MARGIN = 0.1
"""An edit that passes no new test is still kept when no failing test's result moves away from what
it expects and one comes this much closer (similarity of expected and actual, see
:func:`closeness_by_test`): the first of two bugs that fail the same tests has been fixed."""
MAX_NEARER = 2
NEARER_AFTER = 8
"""... and only once this many edits in a row passed no new test (a single bug is usually fixed sooner)."""
"""At most this many such edits in a row without a new passing test."""
_EXPECTED_GOT = re.compile(r"expected (?P<expected>.*?)(?: \(relative tolerance [^)]*\))?, got (?P<got>.*)$", re.DOTALL)


def closeness_by_test(failures: list[Failure]) -> dict[str, float]:
    """How close each failing test's result is to what it expects: for ``expected E, got G`` the
    similarity of the two texts (0..1); a raised exception or a time-out counts 0."""
    found: dict[str, float] = {}
    for failure in failures:
        match = _EXPECTED_GOT.search(failure.message)
        value = 0.0
        if match and "raised" not in failure.message.split(":", 1)[0]:
            value = difflib.SequenceMatcher(None, match.group("expected"), match.group("got"), autojunk=False).ratio()
        found[failure.name] = round(value, 6)
    return found


def _digest(lines: list[str] | tuple[str, ...]) -> str:
    return hashlib.blake2b("\n".join(lines).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def edit_between(current: list[str], target: list[str]) -> Optional[CodeAction]:
    """The single REPLACE_LINES that turns ``current`` into ``target`` (``None`` when they are equal)."""
    if current == target:
        return None
    prefix = 0
    while prefix < min(len(current), len(target)) and current[prefix] == target[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(current), len(target)) - prefix
        and current[len(current) - 1 - suffix] == target[len(target) - 1 - suffix]
    ):
        suffix += 1
    start, end = prefix + 1, len(current) - suffix
    if end < start:  # a pure insertion: rewrite a neighbouring line unchanged along with it
        if suffix > 0:
            suffix -= 1
        else:
            prefix -= 1
        start, end = prefix + 1, len(current) - suffix
    block = lines_to_block(target[prefix : len(target) - suffix])
    return CodeAction(action_type=ActionType.REPLACE_LINES, start_line=start, end_line=end, new_code_block=block)


class SearchAgent(Agent):
    """Generate-and-validate repair over the environment's actions (see the module docstring)."""

    name = "search"

    def __init__(self, undo: str = "merge", max_candidates_per_round: int = 400) -> None:
        if undo not in ("merge", "action"):
            raise ValueError("undo must be 'merge' or 'action'")
        self.undo_mode = undo
        self.max_candidates_per_round = max_candidates_per_round
        self.last_error: Optional[str] = None
        self._reset_state()

    def _reset_state(self) -> None:
        self.env_lines: Optional[list[str]] = None
        self.best_lines: Optional[list[str]] = None
        self.best_passed = -1
        self.best_closeness: dict[str, float] = {}
        self.nearer_steps = 0
        self.tries_since_gain = 0
        self.tests_total = 0
        self.queue: list[Candidate] = []
        self.tried: set[str] = set()
        self.rejected: set[str] = set()
        self.pending: Optional[str] = None
        self.pending_target: Optional[list[str]] = None
        self.current: Optional[Candidate] = None
        self.history: list[str] = []

    # -- Agent --------------------------------------------------------------------------------------
    def reset(self, observation: CodeObservation) -> None:
        self._reset_state()
        self._read_view(observation)

    def act(self, observation: CodeObservation) -> CodeAction:
        self.last_error = None
        self._absorb(observation)
        action = self._decide(observation)
        self.pending = action.action_type.value
        return action

    # -- bookkeeping --------------------------------------------------------------------------------
    def _read_view(self, observation: CodeObservation) -> bool:
        """Take the full program from a code view that shows every line; False otherwise."""
        total = observation.total_lines
        if not observation.code_view or total <= 0:
            return False
        numbered = parse_code_view(observation.code_view)
        if len(numbered) != total or sorted(numbered) != list(range(1, total + 1)):
            return False
        self.env_lines = [numbered[i] for i in range(1, total + 1)]
        return True

    def _view_agrees(self, observation: CodeObservation) -> bool:
        if self.env_lines is None:
            return False
        if len(self.env_lines) != observation.total_lines:
            return False
        for number, text in parse_code_view(observation.code_view).items():
            if number > len(self.env_lines) or self.env_lines[number - 1] != text:
                return False
        return True

    def _absorb(self, observation: CodeObservation) -> None:
        pending, self.pending = self.pending, None
        if pending == ActionType.VIEW_CODE.value:
            if not self._read_view(observation):
                self.env_lines = None
        elif pending == ActionType.REPLACE_LINES.value:
            target, self.pending_target = self.pending_target, None
            if observation.error is None and target is not None:
                self.env_lines = target
                if not self._view_agrees(observation):
                    log.warning("code view disagrees with the agent's copy; re-reading the program")
                    self.env_lines = None
            else:
                self.env_lines = None  # re-read before anything else
        elif pending == ActionType.UNDO_EDIT.value:
            if observation.error is None and self.best_lines is not None:
                self.env_lines = list(self.best_lines)
                if not self._view_agrees(observation):
                    self.env_lines = None
            else:
                self.env_lines = None
        elif pending == ActionType.RUN_TESTS.value:
            self._absorb_tests(observation)

    def _absorb_tests(self, observation: CodeObservation) -> None:
        if self.env_lines is None:
            return
        results = observation.test_results
        self.tests_total = observation.tests_total or len(results)
        passed = observation.tests_passed if observation.tests_passed is not None else sum(r.passed for r in results)
        failures = [Failure.parse(r.name, r.message) for r in results if not r.passed]
        close = closeness_by_test(failures)
        gained = self.best_lines is None or passed > self.best_passed
        # two bugs that fail the same tests: fixing one passes no new test, but brings the results closer
        self.tries_since_gain = 0 if gained else self.tries_since_gain + 1
        nearer = (not gained and passed == self.best_passed and self.nearer_steps < MAX_NEARER
                  and self.tries_since_gain > NEARER_AFTER
                  and set(close) == set(self.best_closeness)
                  and all(close[name] >= self.best_closeness[name] for name in close)
                  and any(close[name] > self.best_closeness[name] + NEARER_MARGIN for name in close))
        if gained or nearer:
            if self.current is not None:
                how = f"{self.best_passed} -> {passed} visible" if gained else "closer results"
                self.history.append(f"kept {self.current.note} ({how})")
            self.nearer_steps = 0 if gained else self.nearer_steps + 1
            self.best_lines = list(self.env_lines)
            self.best_passed = passed
            self.best_closeness = close
            self.tried.add(_digest(self.best_lines))
            if passed < self.tests_total:
                self.queue = self._generate(failures)
        elif self.current is not None:
            self.history.append(f"rejected {self.current.note} ({passed} visible)")
            self.rejected.add(self.current.note)
        self.current = None

    def _rank(self, candidate: Candidate) -> float:
        return candidate.priority * (REJECTED_DISCOUNT if candidate.note in self.rejected else 1.0)

    def _generate(self, failures: list[Failure]) -> list[Candidate]:
        assert self.best_lines is not None
        try:
            found = candidates(self.best_lines, failures)
        except Exception:  # noqa: BLE001 - an analysis bug must not end the episode
            log.exception("candidate generation failed; no candidates this round")
            self.last_error = "search: candidate generation failed (see the log)"
            return []
        # an edit rejected on an earlier version of the program is unlikely to help now: try it late
        found.sort(key=lambda c: -self._rank(c))
        return found[: self.max_candidates_per_round]

    # -- decisions ----------------------------------------------------------------------------------
    def _next_candidate(self) -> Optional[Candidate]:
        while self.queue:
            candidate = self.queue.pop(0)
            key = _digest(candidate.lines)
            if key in self.tried:
                continue
            self.tried.add(key)
            if not compiles(candidate.lines):
                continue
            return candidate
        return None

    def _edit_to(self, target: list[str]) -> Optional[CodeAction]:
        assert self.env_lines is not None
        action = edit_between(self.env_lines, target)
        if action is None:
            return None
        if action.new_code_block is not None and len(action.new_code_block) > MAX_NEW_CODE_CHARS:
            return None
        self.pending_target = list(target)
        return action

    def _decide(self, observation: CodeObservation) -> CodeAction:
        if observation.done:
            return SUBMIT
        remaining = observation.steps_remaining
        if self.env_lines is None:
            return VIEW
        if self.best_lines is None:
            return RUN  # the original program's test results
        if self.current is not None:
            if self.env_lines == list(self.current.lines):
                return RUN  # evaluate the candidate just written
            self.current = None  # the edit did not land as planned
        at_best = self.env_lines == self.best_lines
        if self.best_passed >= self.tests_total > 0 and at_best:
            return SUBMIT
        # edit + run + (if rejected) restore must fit before the step limit evaluates the program
        if remaining >= 3:
            if self.undo_mode == "action" and not at_best:
                return UNDO
            while (candidate := self._next_candidate()) is not None:
                action = self._edit_to(list(candidate.lines))
                if action is not None:
                    self.current = candidate
                    log.debug("trying %s (priority %.3f)", candidate.note, candidate.priority)
                    return action
                if not at_best:
                    # the merged restore + edit is too large for one block: restore first, then try it
                    self.queue.insert(0, candidate)
                    self.tried.discard(_digest(candidate.lines))
                    break
                # a single edit too large to send: skip it
        if not at_best:
            if self.undo_mode == "action":
                return UNDO
            action = self._edit_to(self.best_lines)
            if action is not None:
                return action
        return SUBMIT


__all__ = ["SearchAgent", "edit_between"]

"""Test amplification: new hidden tests for a seed, made from its own tests, that kill surviving mutants.

A mutant that survives every test is either equivalent or a hole in the tests.  Holes are usually
one input away from an existing test: a trailing space the tests never try, a list one element
longer, a number one larger.  :func:`amplify` looks for them mechanically:

1. every existing test is copied with **one literal changed** (an integer ±1 or doubled, a string
   with a space added or its case changed, a list with its last element dropped or repeated, a
   boolean flipped ...), or two, a fixed number of variants per test, chosen by a random generator
   seeded with the seed's id (so the result is the same every time); and once with all its steps
   run **twice in a row** (state that leaks from one object or call to the next shows then);
2. the **reference** runs every variant in the sandbox; its results become the variant's
   expectations (``expect``, or ``raises`` when it raises an exception type the seed's own tests
   already expect); a variant whose setup step fails, or whose result cannot be compared, is dropped;
3. every surviving mutant runs the variants; a greedy cover keeps the fewest variants that kill the
   most survivors, and they are added to the seed as hidden tests named ``amplified_<n>``.

The expectations come from the reference, which *is* the specification of a task, and the inputs
are small changes of inputs the seed's author already chose, so the new tests exercise documented
behaviour.  Equivalent mutants are never killed; whatever survives is left for a person to judge.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence

from tracefix.corpus.filters import screen_mutant
from tracefix.corpus.seed_quality import BUDGET_S, Survivor
from tracefix.tasks.codec import find_unsupported
from tracefix.tasks.grading import build_program
from tracefix.tasks.schema import EvalStep, ExecStep, TaskTest

if TYPE_CHECKING:
    from tracefix.corpus.generate import Seed
    from tracefix.sandbox import Sandbox

VARIANTS_PER_TEST = 16
AMPLIFIED_PREFIX = "amplified_"
MAX_NEW_TESTS = 8


def _literal_changes(node: ast.AST) -> list[ast.AST]:
    """Small changes of one literal (a fresh node each)."""
    if isinstance(node, ast.Constant):
        value = node.value
        options: list[Any] = []
        if isinstance(value, bool):
            options = [not value]
        elif isinstance(value, int):
            options = [value + 1, value - 1 if value > 0 or value < 0 else 2, value * 2 if value else 3, 0 if value else 1]
        elif isinstance(value, float):
            options = [value * 2 if value else 1.5, value + 0.5]
        elif isinstance(value, str) and len(value) <= 60:
            options = [value + " ", " " + value, f" {value} ", value.upper() if value.lower() == value else value.lower()]
            if len(value) > 1:
                options += [value[:-1], value + value[-1]]
        return [ast.Constant(value=v) for v in dict.fromkeys(options) if v != value or type(v) is not type(value)]
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts and not any(isinstance(e, ast.Starred) for e in node.elts):
        kind = type(node)
        changes = [kind(elts=node.elts[:-1], ctx=ast.Load()), kind(elts=[*node.elts, node.elts[-1]], ctx=ast.Load())]
        if len(node.elts) > 1:
            changes.append(kind(elts=list(reversed(node.elts)), ctx=ast.Load()))
        return changes
    return []


def _positions(tree: ast.AST) -> list[tuple[ast.AST, str, Optional[int], ast.AST]]:
    """``(parent, field, index, node)`` of every literal that can be changed in a statement."""
    found = []
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            items = value if isinstance(value, list) else [value]
            for i, child in enumerate(items):
                if isinstance(child, (ast.Constant, ast.List, ast.Tuple)) and not isinstance(parent, (ast.JoinedStr, ast.FormattedValue)):
                    if isinstance(child, ast.Constant) and child.value is None:
                        continue
                    found.append((parent, name, i if isinstance(value, list) else None, child))
    return found


def _step_source(step: ExecStep | EvalStep) -> str:
    return step.exec if isinstance(step, ExecStep) else step.eval


def variants(test: TaskTest, rng: random.Random, count: int = VARIANTS_PER_TEST) -> list[list[tuple[str, str]]]:
    """Up to ``count`` copies of ``test`` as ``[(kind, source), ...]`` with one literal changed each
    (and as many again with two literals changed)."""
    parsed = []
    for step in test.steps:
        mode = "exec" if isinstance(step, ExecStep) else "eval"
        try:
            parsed.append((mode, ast.parse(_step_source(step), mode=mode)))
        except SyntaxError:
            return []
    sites = [(i, p) for i, (_, tree) in enumerate(parsed) for p in _positions(tree)]
    options = [(i, p, change) for i, p in sites for change in _literal_changes(p[3])]
    rng.shuffle(options)
    singles = [[option] for option in options]
    result: list[list[tuple[str, str]]] = []
    original = [(mode, _step_source(step)) for (mode, _), step in zip(parsed, test.steps)]
    if len(original) > 1 or original[0][0] == "eval":
        # the whole test twice in a row: state that leaks from one object or call to the next shows
        result.append(original + original)
    pairs = [[a, b] for a, b in zip(options[::2], options[1::2]) if a[1][3] is not b[1][3]]
    seen: set[tuple[str, ...]] = {tuple(_step_source(s) for s in test.steps)}
    for group, limit in ((singles, count), (pairs, 2 * count)):
        for changes in group:
            if len(result) >= limit:
                break
            for _, (parent, name, position, _node), change in changes:
                if position is None:
                    setattr(parent, name, change)
                else:
                    getattr(parent, name)[position] = change
            try:
                steps = [(mode, ast.unparse(tree)) for mode, tree in parsed]
            finally:
                for _, (parent, name, position, node), _change in reversed(changes):
                    if position is None:
                        setattr(parent, name, node)
                    else:
                        getattr(parent, name)[position] = node
            key = tuple(source for _, source in steps)
            if key not in seen:
                seen.add(key)
                result.append(steps)
    return result


def _expected_tests(seed: "Seed", candidates: list[list[tuple[str, str]]], sandbox: "Optional[Sandbox]") -> list[TaskTest]:
    """Run the reference on the candidate step lists and turn its results into expectations."""
    from tracefix.sandbox import RunStatus, get_sandbox

    sandbox = sandbox or get_sandbox()
    documented = {s.raises for t in seed.task.tests for s in t.steps if isinstance(s, EvalStep) and s.raises}
    probes = []
    for n, steps in enumerate(candidates):
        probe_steps = [ExecStep(exec=src) if mode == "exec" else EvalStep(eval=src, expect=None) for mode, src in steps]
        probes.append(TaskTest(name=f"probe_{n}", visible=False, steps=probe_steps))
    if not probes:
        return []
    task = seed.task.model_copy(update={"timeout_s": max(seed.task.timeout_s or 2.0, 2.0)})
    execution = sandbox.execute(build_program(seed.task.reference_code, task, probes))
    if execution.status is not RunStatus.OK:
        return []
    outcomes = {o.name: o for o in execution.tests}
    tests: list[TaskTest] = []
    for probe in probes:
        outcome = outcomes.get(probe.name)
        if outcome is None or len(outcome.steps) != len(probe.steps):
            continue
        steps: list[ExecStep | EvalStep] = []
        for step, result in zip(probe.steps, outcome.steps):
            if isinstance(step, ExecStep):
                if not result.ok:
                    break
                steps.append(step)
            elif result.ok:
                if find_unsupported(result.value) is not None:
                    break
                floats = any(isinstance(v, float) for v in _leaves(result.value))
                steps.append(EvalStep(eval=step.eval, expect=result.value, **({"approx": 1e-9} if floats else {})))
            elif result.error_type in documented:
                steps.append(EvalStep(eval=step.eval, raises=result.error_type))
            else:
                break
        else:
            tests.append(TaskTest(name=probe.name, visible=False, steps=steps))
    return tests


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@dataclass
class Amplification:
    seed_id: str
    tests: list[TaskTest]
    """The new hidden tests (already named ``amplified_<n>``)."""
    killed: int
    survivors_before: int


def amplify(seed: "Seed", survivors: Sequence[Survivor], *, sandbox: "Optional[Sandbox]" = None,
            max_new_tests: int = MAX_NEW_TESTS) -> Amplification:
    """New hidden tests that kill as many of ``survivors`` as possible (see the module docstring)."""
    rng = random.Random(f"tracefix-amplify/{seed.id}")
    candidates = [v for test in seed.task.tests for v in variants(test, rng)]
    tests = _expected_tests(seed, candidates, sandbox)
    if not tests or not survivors:
        return Amplification(seed.id, [], 0, len(survivors))
    probe_task = seed.task.model_copy(update={"tests": tests})
    kills: dict[str, set[int]] = {t.name: set() for t in tests}
    for index, survivor in enumerate(survivors):
        screening = screen_mutant(survivor.code, probe_task, budget_s=BUDGET_S, sandbox=sandbox, retries=0)
        failed = set(screening.failed) if screening.reason != "equivalent" else set()
        if screening.reason in ("timeout", "recursion", "memory_limit", "crashed"):
            failed = set()  # a runaway run says nothing about which test caught it
        for name in failed:
            kills[name].add(index)
    chosen: list[TaskTest] = []
    covered: set[int] = set()
    by_name = {t.name: t for t in tests}
    while len(chosen) < max_new_tests:
        best = max(kills, key=lambda name: (len(kills[name] - covered), -len(by_name[name].steps), name), default=None)
        if best is None or not kills[best] - covered:
            break
        covered |= kills[best]
        chosen.append(by_name[best])
        del kills[best]
    existing = {t.name for t in seed.task.tests}
    named = []
    n = 1
    for test in chosen:
        while f"{AMPLIFIED_PREFIX}{n}" in existing:
            n += 1
        named.append(test.model_copy(update={"name": f"{AMPLIFIED_PREFIX}{n}"}))
        existing.add(f"{AMPLIFIED_PREFIX}{n}")
    return Amplification(seed.id, named, len(covered), len(survivors))

"""Isolation findings that show through the environment: hidden expressions at SUBMIT, a grader
that candidate values could crash, and a baseline another run could poison.

Each test drives :class:`TraceFixRLGym` the way a policy would, on a sandbox at the ``full`` and the
``reduced`` tier (``pool_size=1``: attacker and victim share one zygote).
"""

from __future__ import annotations

import secrets
from typing import Iterator

import pytest

from tests.helpers import RUN, SUBMIT, replace
from tracefix.core.context import split_lines
from tracefix.core.environment import TraceFixRLGym
from tracefix.sandbox import Sandbox, SandboxConfig, capabilities
from tracefix.tasks.grading import SandboxRunner
from tracefix.tasks.registry import TaskRegistry
from tracefix.tasks.schema import parse_task


@pytest.fixture(scope="module", params=["full", "reduced"])
def shared(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    info = capabilities()["tiers"][request.param]
    if not info["available"]:
        pytest.skip("tier %r unavailable on this host: %s" % (request.param, info["detail"]))
    sandbox = Sandbox(SandboxConfig(tier=request.param, pool_size=1))
    yield sandbox
    sandbox.close()


def make_gym(shared: Sandbox, *tasks: dict) -> TraceFixRLGym:
    registry = TaskRegistry()
    registry.add_split("isolation", [parse_task(t) for t in tasks])
    return TraceFixRLGym(registry=registry, runner=SandboxRunner(shared), default_split="isolation")


def whole_program(gym: TraceFixRLGym, code: str):
    """REPLACE_LINES over the whole current program (checked: an edit that does not apply would
    make every test below pass for the wrong reason)."""
    action = replace(1, len(split_lines(gym.state.code)), code)
    obs = gym.step(action)
    assert obs.error is None or "compile" not in obs.error and "outside" not in obs.error, obs.error
    assert gym.state.code.rstrip("\n") == code.rstrip("\n")
    return obs


# --- finding 2: hidden expressions never reach an observation ----------------------------------------

THIEF = '''import gc, sys
def _steal():
    found = []
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, (dict, list, tuple)):
                found.append(repr(value)[:5000])
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "tests" in obj:
            found.append(repr(obj["tests"])[:5000])
    return " ".join(found)
STOLEN = _steal()
print(STOLEN[-900:])
def inc(x):
    marker = "HID" + "DEN-"
    at = STOLEN.find(marker)
    raise ValueError(STOLEN[max(0, at - 10): at + 60] if at >= 0 else "nothing found")
'''


def hidden_task() -> tuple[dict, str]:
    marker = "HIDDEN-" + secrets.token_hex(6)
    task = {
        "id": "isolation/hidden-" + secrets.token_hex(4),
        "difficulty": "easy",
        "description": "inc(x) returns x + 1.",
        "buggy_code": "def inc(x):\n    return x\n",
        "reference_code": "def inc(x):\n    return x + 1\n",
        "tests": [
            {"name": "visible_one", "visible": True, "steps": [{"eval": "inc(1)", "expect": 2}]},
            {"name": "hidden_one", "visible": False,
             "steps": [{"eval": "inc(len(%r))" % marker, "expect": len(marker) + 1}]},
        ],
    }
    return task, marker


def test_hidden_test_expressions_never_reach_the_agent(shared: Sandbox) -> None:
    """Finding 2: code running beside the hidden tests at SUBMIT cannot put their expressions into
    anything the final observation shows (messages, output, errors)."""
    task, marker = hidden_task()
    gym = make_gym(shared, task)
    gym.reset(task_id=task["id"])
    whole_program(gym, THIEF)
    observations = [gym.step(RUN), gym.step(SUBMIT)]
    assert observations[-1].done
    for obs in observations:
        assert marker not in obs.model_dump_json(), obs.test_results
    # the thief did run and reported what it saw: only visible material
    assert "nothing found" in observations[-1].test_results[0].message


# --- finding 3: the grader never crashes on candidate values ----------------------------------------


def float_task() -> dict:
    return {
        "id": "isolation/float-" + secrets.token_hex(4),
        "difficulty": "easy",
        "description": "ratio() returns 1.5.",
        "buggy_code": "def ratio():\n    return 2.5\n",
        "reference_code": "def ratio():\n    return 1.5\n",
        "tests": [
            {"name": "visible_ratio", "steps": [{"eval": "ratio()", "expect": 1.5, "approx": 1e-9}]},
            {"name": "hidden_ratio", "visible": False, "steps": [{"eval": "[ratio()]", "expect": [1.5], "approx": 1e-9}]},
        ],
    }


@pytest.mark.parametrize("value", ["10 ** 400", "-(10 ** 400)", "[10 ** 400]", "float('nan')", "[[[[[[1]]]]]]"])
def test_values_that_cannot_be_compared_fail_the_step_and_nothing_raises(shared: Sandbox, value: str) -> None:
    """Finding 3: a value the comparison cannot handle fails its step; SUBMIT is scored normally
    and the automatic submit at the step limit does not raise out of step()."""
    task = float_task()
    gym = make_gym(shared, task)
    gym.reset(task_id=task["id"])
    whole_program(gym, "def ratio():\n    return %s\n" % value)
    run = gym.step(RUN)
    assert run.error is None and run.test_results[0].passed is False
    final = gym.step(SUBMIT)
    assert final.done and final.error is None and final.score == 0 and final.success is False
    gym.reset(task_id=task["id"], max_steps=2)
    whole_program(gym, "def ratio():\n    return %s\n" % value)
    automatic = gym.step(RUN)
    assert automatic.done and automatic.error is None and automatic.score == 0


# --- finding 5: a run cannot poison another task's baseline ------------------------------------------

INODE_FLOOD = '''import os
def absval(x):
    return x
made = 0
try:
    while made < 400000:
        os.mkdir("d%d" % made)
        made += 1
except OSError:
    pass
'''


SELF_POISON = '''import os
def absval(x):
    return x
if not os.path.exists("flood"):  # once per run (every test re-imports the module)
    os.mkdir("flood")
    made = 0
    try:
        while made < 400000:
            os.mkdir("flood/d%d" % made)
            made += 1
    except OSError:
        pass
'''


def absval_task(timeout_s: float = 3.0) -> dict:
    return {
        "id": "isolation/absval-" + secrets.token_hex(4),
        "difficulty": "easy",
        "description": "absval(x) is the absolute value of x.",
        "buggy_code": "def absval(x):\n    return x\n",
        "reference_code": "def absval(x):\n    return -x if x < 0 else x\n",
        "timeout_s": timeout_s,
        "tests": [
            {"name": "positive", "steps": [{"eval": "absval(3)", "expect": 3}]},
            {"name": "zero", "steps": [{"eval": "absval(0)", "expect": 0}]},
            {"name": "negative", "steps": [{"eval": "absval(-2)", "expect": 2}]},
            {"name": "hidden_negative", "visible": False, "steps": [{"eval": "absval(-5)", "expect": 5}]},
        ],
    }


def test_a_flooding_run_cannot_poison_the_next_tasks_baseline(shared: Sandbox) -> None:
    """Finding 5: a run that floods /tmp right before another task's first SUBMIT does not lower
    that task's baseline, so submitting the untouched bug still scores 0."""
    attacker_task, victim_task = absval_task(), absval_task()
    gym = make_gym(shared, attacker_task, victim_task)
    gym.reset(task_id=attacker_task["id"])
    whole_program(gym, INODE_FLOOD)
    gym.step(RUN)
    victim = make_gym(shared, attacker_task, victim_task)
    victim.reset(task_id=victim_task["id"])
    final = victim.step(SUBMIT)
    assert final.done and final.error is None
    assert final.score == 0, final.message  # the bug passes 2 of 4 tests, exactly as many as the original
    assert "does not do better than the original" in final.message


def test_a_submission_cannot_poison_its_own_first_baseline(shared: Sandbox) -> None:
    """Finding 5, as a policy would use it: the untouched bug plus a flood of /tmp, submitted to a
    task whose baseline was never computed.  The baseline must not come from a run slowed down (or
    timed out) by that flood, so the submission still scores 0."""
    task = absval_task(timeout_s=8.0)
    gym = make_gym(shared, task)
    gym.reset(task_id=task["id"])
    whole_program(gym, SELF_POISON)
    final = gym.step(SUBMIT)
    assert final.done and final.error is None
    assert final.score == 0, final.message

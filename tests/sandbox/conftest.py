"""Fixtures for the sandbox tests: one warm Sandbox per isolation tier this host offers."""

from __future__ import annotations

import os
from typing import Dict, Iterator, List

import pytest

# Set before any sandbox starts: runs must never see the parent's environment.
os.environ["TRACEFIX_TEST_SECRET"] = "tf-secret-7f3a9c"

from tracefix.sandbox import Program, Sandbox, SandboxConfig, StepSpec, TestSpec, capabilities  # noqa: E402

ISOLATED_TIERS = ("full", "reduced")


def tier_params() -> List[object]:
    caps = capabilities()
    out = []
    for tier in ISOLATED_TIERS:
        info = caps["tiers"][tier]
        marks = [] if info["available"] else [pytest.mark.skip(reason="tier %r unavailable on this host: %s"
                                                                % (tier, info["detail"]))]
        out.append(pytest.param(tier, marks=marks, id=tier))
    return out


_sandboxes: Dict[str, Sandbox] = {}


@pytest.fixture(scope="session")
def sandbox_factory() -> Iterator[object]:
    made: List[Sandbox] = []

    def make(**kw: object) -> Sandbox:
        sb = Sandbox(SandboxConfig(**kw))  # type: ignore[arg-type]
        made.append(sb)
        return sb

    yield make
    for sb in made:
        sb.close()


@pytest.fixture(scope="session", params=tier_params())
def sb(request: pytest.FixtureRequest, sandbox_factory) -> Sandbox:
    """A pool_size=1 sandbox per isolated tier (so 'the next run' uses the same zygote)."""
    s = sandbox_factory(tier=request.param, pool_size=1)
    assert s.tier == request.param
    s.warm()
    return s


@pytest.fixture(scope="session")
def best(sandbox_factory) -> Sandbox:
    """A sandbox at the best tier of this host (functional tests)."""
    tier = capabilities()["best"]
    return sandbox_factory(tier=tier, pool_size=2, allow_unsandboxed=True)


def prog(code: str, *steps: object, setup: str = "", timeout: float = 2.0, tests: object = None) -> Program:
    """``prog(code, ("eval", "f(1)"), ...)`` -> one test named 't' (or pass ``tests=[(name, steps)]``)."""
    if tests is None:
        tests = [("t", steps or (("eval", "1"),))]
    return Program(
        code=code,
        tests=tuple(TestSpec(name, tuple(StepSpec(k, s) for k, s in st)) for name, st in tests),  # type: ignore[misc]
        setup_code=setup,
        timeout_s=timeout,
    )

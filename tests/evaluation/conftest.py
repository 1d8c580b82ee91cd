"""Shared by the evaluation tests: one uninterrupted reference run, and how rows are compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

SELECTION = ["--agent", "search,random", "--split", "curated", "--limit", "5"]
EPISODES = 10
DETERMINISTIC = ("task", "split", "difficulty", "agent", "episode", "seed", "steps", "rewards", "return", "score",
                 "success", "done", "error", "step_errors")
"""The fields of a result row that depend only on the agent, the task and the seed (not on timing)."""


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def deterministic(rows: list[dict]) -> list[dict]:
    return [{k: r[k] for k in DETERMINISTIC} for r in rows]


def eval_argv(out: Path, *extra: str) -> list[str]:
    return ["eval", *SELECTION, "--workers", "2", "--out", str(out), *extra]


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory) -> list[dict]:
    """The reference: the selection run once, without interruption, on an embedded server."""
    from tracefix.cli.main import app

    out = tmp_path_factory.mktemp("reference") / "eval.jsonl"
    result = CliRunner().invoke(app, eval_argv(out))
    assert result.exit_code == 0, result.output
    rows = rows_of(out)
    assert len(rows) == EPISODES and all(r["done"] for r in rows)
    return rows

"""Project hygiene that the earlier implementation got wrong (drift defects)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pydantic
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

from tracefix.core import constants

ROOT = Path(__file__).resolve().parents[1]


def test_one_dependency_source():
    assert not (ROOT / "requirements.txt").exists()
    assert (ROOT / "uv.lock").exists()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(dep.startswith("pydantic>=2") for dep in project["dependencies"])
    assert project["scripts"]["server"] == "tracefix.server.app:main"
    assert pydantic.VERSION.startswith("2.")


def test_no_cache_or_build_files_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    offenders = [p for p in tracked if "__pycache__" in p or p.endswith(".pyc") or ".egg-info" in p or p.startswith(".venv/")]
    assert offenders == []


def test_unused_submit_constants_are_gone_and_constants_live_in_one_place():
    assert not hasattr(constants, "R_SUBMIT_ALL_PASS") and not hasattr(constants, "R_SUBMIT_FAIL")
    pattern = r"^R_[A-Z_]+ *= *-?[0-9]"
    found = subprocess.run(["git", "grep", "-lE", pattern, "--", "*.py"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert found == ["core/constants.py"]


def test_notes_constants_keep_their_values():
    assert (constants.R_STEP_COST, constants.R_RUN_TESTS, constants.R_PER_NEW_PASS) == (-0.01, 0.10, 0.05)
    assert (constants.R_SYNTAX_ERROR, constants.R_INVALID_LINE, constants.R_DESTRUCTIVE_PENALTY, constants.R_UNDO_RESET) == (-0.10, -0.02, -0.20, -0.10)
    assert constants.MAX_STEPS == 50 and constants.MAX_OUTPUT_CHARS == 1000


def test_task_format_document_exists_and_its_examples_follow_the_schema():
    import json
    import re

    from tracefix.tasks.codec import decode_value
    from tracefix.tasks.schema import TaskTest

    doc = (ROOT / "docs" / "task-format.md").read_text(encoding="utf-8")
    assert "version 1" in doc
    block = re.search(r"```json\n(.*?)```", doc, re.DOTALL).group(1)
    TaskTest.model_validate(json.loads(block))
    steps = re.findall(r'`(\{"(?:exec|eval)"[^`]*\})`', doc)
    assert len(steps) == 4
    for step in steps:
        TaskTest.model_validate({"name": "t", "steps": [json.loads(step)]})
    values = [v for v in re.findall(r'`(\{"\$\w+": [^`]*\})`', doc) if "..." not in v]
    assert len(values) >= 8
    for value in values:
        decode_value(json.loads(value))


def test_readme_and_cli_point_to_the_task_format_and_true_install_commands():
    from typer.testing import CliRunner

    from tracefix.cli.main import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/task-format.md" in readme and "TASK_FORMAT.md" not in readme
    assert "tracefix[gym]" not in readme and "uv sync --extra gym" in readme and "pip install '.[gym]'" in readme
    assert "gym" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert f"at most {constants.MAX_NEW_CODE_CHARS:,} characters" in readme
    for command in (["tasks", "--help"], ["tasks", "import", "--help"], ["tasks", "verify", "--help"]):
        shown = CliRunner().invoke(app, command, env={"COLUMNS": "200"})
        assert "docs/task-format.md" in shown.output, command

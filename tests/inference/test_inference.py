"""inference.py end to end: the real server on 127.0.0.1, the real sandbox, and a scripted
OpenAI-compatible server on 127.0.0.1 standing in for the model.  Stdout is checked line by line
against the graders' format."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import EASY_TASK
from tests.inference.fake_openai import FakeOpenAI, hang, reply, status

ROOT = Path(__file__).resolve().parents[2]

START = re.compile(r"^\[START\] task=(?P<task>\S+) env=tracefix_rl model=(?P<model>\S+)$")
STEP = re.compile(
    r"^\[STEP\] step=(?P<n>\d+) action=(?P<action>[A-Z_]+(?:\(\d+-\d+\))?) reward=(?P<reward>-?\d+\.\d{2}) "
    r"done=(?P<done>true|false) error=(?P<error>.+)$"
)
END = re.compile(
    r"^\[END\] success=(?P<success>true|false) steps=(?P<steps>\d+) score=(?P<score>\d+\.\d{2}) "
    r"rewards=(?P<rewards>(?:-?\d+\.\d{2}(?:,-?\d+\.\d{2})*)?)$"
)

RUN = json.dumps({"action_type": "RUN_TESTS"})
SUBMIT = json.dumps({"action_type": "SUBMIT"})
FIX = json.dumps({"action_type": "REPLACE_LINES", "start_line": 9, "end_line": 9,
                  "new_code_block": "    for start in range(0, len(items), size):"})


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture()
def llm_env(monkeypatch, fake):
    monkeypatch.delenv("API_KEY", raising=False)
    monkeypatch.setenv("HF_TOKEN", "test-token")
    monkeypatch.setenv("API_BASE_URL", fake.base_url)
    monkeypatch.setenv("MODEL_NAME", "fake/model-1")
    return fake


def run(server_url: str, *extra: str) -> tuple[int, list[str]]:
    import inference

    out = io.StringIO()
    code = inference.main(["--task", EASY_TASK, "--env-url", server_url, "--llm-backoff", "0.01", *extra], stdout=out)
    return code, out.getvalue().splitlines()


def parse_episode(lines: list[str]) -> tuple[dict, list[dict], dict]:
    """Check the whole stdout is exactly START, STEP 1..n, END; return their fields."""
    assert lines, "nothing on stdout"
    start = START.match(lines[0])
    assert start, lines[0]
    end = END.match(lines[-1])
    assert end, lines[-1]
    steps = []
    for i, line in enumerate(lines[1:-1], start=1):
        match = STEP.match(line)
        assert match, line
        assert int(match["n"]) == i
        steps.append(match.groupdict())
    assert int(end["steps"]) == len(steps)
    rewards = end["rewards"].split(",") if end["rewards"] else []
    assert rewards == [s["reward"] for s in steps]
    assert all(s["done"] == "false" for s in steps[:-1])
    return start.groupdict(), steps, end.groupdict()


def test_good_json_solves_and_reports_success(server_url, llm_env):
    llm_env.load(reply(RUN), reply(FIX), reply(RUN), reply(SUBMIT))
    code, lines = run(server_url)
    start, steps, end = parse_episode(lines)
    assert code == 0
    assert start == {"task": EASY_TASK, "model": "fake/model-1"}
    assert [s["action"] for s in steps] == ["RUN_TESTS", "REPLACE_LINES(9-9)", "RUN_TESTS", "SUBMIT"]
    assert all(s["error"] == "null" for s in steps)
    assert steps[-1]["done"] == "true"
    assert end["success"] == "true" and end["score"] == "0.96"
    # the model saw the system prompt and the rendered observation
    first = llm_env.requests[0]
    assert first["model"] == "fake/model-1"
    assert "TraceFix" in first["messages"][0]["content"]
    assert "chunk(items, size)" in first["messages"][-1]["content"]


def test_fenced_and_think_tagged_json(server_url, llm_env):
    llm_env.load(
        reply(f"<think>the loop stops one short</think>\n```json\n{FIX}\n```"),
        reply(f"Now I submit.\n```\n{SUBMIT}\n```"),
    )
    code, lines = run(server_url)
    _, steps, end = parse_episode(lines)
    assert [s["action"] for s in steps] == ["REPLACE_LINES(9-9)", "SUBMIT"]
    assert all(s["error"] == "null" for s in steps)
    assert end["success"] == "true"


def test_garbage_gets_one_repair_then_run_tests_fallback_logged_as_error(server_url, llm_env):
    llm_env.load(reply("I think the bug is on line 9."), reply("still no json, sorry"), reply(SUBMIT))
    code, lines = run(server_url)
    _, steps, end = parse_episode(lines)
    assert [s["action"] for s in steps] == ["RUN_TESTS", "SUBMIT"]
    assert "fell back to RUN_TESTS" in steps[0]["error"]
    assert steps[1]["error"] == "null"
    assert len(llm_env.requests) == 3
    repair = llm_env.requests[1]["messages"][-1]["content"]
    assert "could not be used" in repair
    assert end["success"] == "false" and end["score"] == "0.00"


def test_validation_error_is_quoted_in_the_repair_retry(server_url, llm_env):
    invalid = json.dumps({"action_type": "REPLACE_LINES", "start_line": 9})
    llm_env.load(reply(invalid), reply(FIX), reply(SUBMIT))
    code, lines = run(server_url)
    _, steps, end = parse_episode(lines)
    assert [s["action"] for s in steps] == ["REPLACE_LINES(9-9)", "SUBMIT"]
    assert "REPLACE_LINES requires" in llm_env.requests[1]["messages"][-1]["content"]
    assert end["success"] == "true"


def test_rate_limits_are_retried_with_backoff(server_url, llm_env):
    llm_env.load(status(429, retry_after=0), status(503), reply(FIX), reply(SUBMIT))
    code, lines = run(server_url)
    _, steps, end = parse_episode(lines)
    assert [s["action"] for s in steps] == ["REPLACE_LINES(9-9)", "SUBMIT"]
    assert len(llm_env.requests) == 4
    assert end["success"] == "true"


def test_hang_times_out_then_the_runner_submits_and_says_why(server_url, llm_env):
    llm_env.load(reply(FIX), hang(3), hang(3))
    started = time.monotonic()
    code, lines = run(server_url, "--llm-timeout", "0.4", "--llm-retries", "1")
    assert time.monotonic() - started < 10
    _, steps, end = parse_episode(lines)
    assert [s["action"] for s in steps] == ["REPLACE_LINES(9-9)", "SUBMIT"]
    assert "agent failed" in steps[1]["error"] and "2 attempts" in steps[1]["error"]
    # the environment scored the fixed program: its real score and success are reported
    assert end["success"] == "true" and float(end["score"]) > 0.9


def test_step_limit_reports_the_environments_score(server_url, llm_env):
    # no SUBMIT: the step limit evaluates the program; the score must not be printed as 0.00
    llm_env.load(reply(FIX), reply(RUN), reply(RUN))
    code, lines = run(server_url, "--max-steps", "3")
    _, steps, end = parse_episode(lines)
    assert steps[-1]["done"] == "true" and steps[-1]["action"] == "RUN_TESTS"
    assert end["success"] == "true" and end["score"] == "0.97"


def test_api_key_alone_is_accepted_and_no_key_is_a_clear_error(server_url, llm_env, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("API_KEY", "other-key")
    llm_env.load(reply(SUBMIT))
    code, lines = run(server_url)
    parse_episode(lines)
    monkeypatch.delenv("API_KEY")
    code, lines = run(server_url)
    assert code == 2 and lines == []
    assert "HF_TOKEN or API_KEY" in capsys.readouterr().err


def test_unreachable_environment_still_prints_start_and_end(llm_env):
    code, lines = run("http://127.0.0.1:9", "--env-timeout", "5")  # nothing listens on the discard port
    start, steps, end = parse_episode(lines)
    assert steps == [] and end == {"success": "false", "steps": "0", "score": "0.00", "rewards": ""}
    assert code == 1


def test_unknown_task_prints_start_and_end(server_url, llm_env):
    import inference

    out = io.StringIO()
    code = inference.main(["--task", "curated/does_not_exist", "--env-url", server_url], stdout=out)
    lines = out.getvalue().splitlines()
    start, steps, end = parse_episode(lines)
    assert start["task"] == "curated/does_not_exist" and steps == []
    assert end == {"success": "false", "steps": "0", "score": "0.00", "rewards": ""}
    assert code == 1


def test_offline_agent_needs_no_key(server_url, monkeypatch):
    import inference

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("API_KEY", raising=False)
    out = io.StringIO()
    code = inference.main(["--agent", "search", "--task", EASY_TASK, "--env-url", server_url], stdout=out)
    start, steps, end = parse_episode(out.getvalue().splitlines())
    assert code == 0 and start["model"] == "search" and end["success"] == "true"


def test_ctrl_c_prints_end_with_the_score_so_far(server_url, fake, tmp_path):
    """A real SIGINT to a real ``python inference.py`` process waiting on a hung model."""
    fake.load(reply(FIX), hang(60))
    env = dict(os.environ, HF_TOKEN="t", API_BASE_URL=fake.base_url, MODEL_NAME="fake/model-1", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "inference.py"), "--task", EASY_TASK, "--env-url", server_url, "--llm-timeout", "60"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 45
        while len(fake.requests) < 2:  # the first step is done and the model is now hanging
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the runner never asked the model a second time"
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    lines = stdout.splitlines()
    _, steps, end = parse_episode(lines)
    assert [s["action"] for s in steps] == ["REPLACE_LINES(9-9)"]
    assert end["success"] == "false" and end["score"] == "0.00" and end["steps"] == "1"
    assert process.returncode == 130
    assert "ended before done" in stderr

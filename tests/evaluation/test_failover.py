"""Several servers behind one client (TRACEFIX_URLS): sessions spread over them, a dead one is failed over.

Two real server processes on 127.0.0.1; one is killed with SIGKILL mid-run.  Every episode must
still finish, with the result an undisturbed run gives for the same seeds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.serverproc import ServerProcess
from tracefix.adapters.trl_env import TraceFixToolEnv
from tracefix.core.environment import TraceFixRLGym
from tracefix.failover import FailoverError, FailoverSession, ServerSet, server_urls
from tracefix.models import ActionType, CodeAction

from .conftest import SELECTION, deterministic, rows_of


@pytest.fixture()
def two_servers(tmp_path):
    servers = [ServerProcess(log_path=str(tmp_path / f"server{i}.log")).launch() for i in range(2)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


def sessions_served(server: ServerProcess) -> int:
    assert server.log_path is not None
    return Path(server.log_path).read_text().count('"WebSocket /ws" [accepted]')


def test_eval_spreads_episodes_and_survives_a_server_killed_mid_run(tmp_path, two_servers, uninterrupted):
    out = tmp_path / "eval.jsonl"
    a, b = two_servers
    command = [sys.executable, "-m", "tracefix.cli.main", "eval", *SELECTION, "--workers", "2", "--out", str(out)]
    env = {**os.environ, "TRACEFIX_URLS": f"{a.url}, {b.url}"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not out.exists() or out.read_bytes().count(b"\n") < 2:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.02)
        served_by_a = sessions_served(a)
        os.killpg(a.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    rows = rows_of(out)
    assert all(r["done"] for r in rows), [r["error"] for r in rows if not r["done"]]
    assert deterministic(rows) == deterministic(uninterrupted)
    assert served_by_a >= 1 and sessions_served(b) >= 1  # both servers had sessions before one died
    for row in rows:  # which server played an episode is not part of its result: rows stay comparable
        assert a.url not in json.dumps(row) and b.url not in json.dumps(row)


FIX_LINE = "    for start in range(0, len(items), size):"
TASK = "curated/chunk_off_by_one"


def first_half(env: TraceFixToolEnv) -> None:
    env.view_code()
    env.run_tests()
    env.replace_lines(9, 9, FIX_LINE)


def second_half(env: TraceFixToolEnv) -> None:
    env.run_tests()
    env.submit()


ACTIONS = [CodeAction(action_type=ActionType.VIEW_CODE), CodeAction(action_type=ActionType.RUN_TESTS),
           CodeAction(action_type=ActionType.REPLACE_LINES, start_line=9, end_line=9, new_code_block=FIX_LINE),
           CodeAction(action_type=ActionType.RUN_TESTS), CodeAction(action_type=ActionType.SUBMIT)]


def test_tool_environments_move_mid_episode_to_the_surviving_server(two_servers, monkeypatch):
    a, b = two_servers
    monkeypatch.setenv("TRACEFIX_URLS", f"{a.url},{b.url}")
    monkeypatch.delenv("TRACEFIX_URL", raising=False)
    envs = [TraceFixToolEnv() for _ in range(2)]
    try:
        for env in envs:
            env.reset(task_id=TASK, seed=3)
            first_half(env)
        where = [env._session().url for env in envs]
        assert sorted(where) == sorted([a.url, b.url])  # one session on each server
        os.killpg(a.pid, signal.SIGKILL)
        a.proc.wait()  # type: ignore[union-attr]
        for env in envs:
            second_half(env)
        assert all(env._session().url == b.url for env in envs)
        assert sum(env._session().moves for env in envs) == 1

        gym = TraceFixRLGym()  # the same episode in-process, undisturbed
        gym.reset(task_id=TASK, seed=3)
        expected = [gym.step(action).reward for action in ACTIONS]
        for env in envs:
            assert env.rewards == expected
            assert env.observation is not None and env.observation.done and env.observation.success
    finally:
        for env in envs:
            env._close()


def test_an_episode_that_would_replay_differently_is_not_moved(two_servers):
    a, b = two_servers
    servers = ServerSet([a.url, b.url])
    for _ in range(3):  # a reset without a seed picks a task at random: moving it cannot be trusted
        session = FailoverSession(servers)
        try:
            first = session.reset(split="train")
            victim = next(s for s in (a, b) if s.url == session.url)
            os.killpg(victim.pid, signal.SIGKILL)
            victim.proc.wait()  # type: ignore[union-attr]
            try:
                moved = session.step(CodeAction(action_type=ActionType.VIEW_CODE))
            except FailoverError as exc:
                assert "replaying it diverged at step 0" in str(exc)
                return
            assert moved.task_id == first.task_id  # the same task came up by chance: try again
            victim.start()
        finally:
            session.close()
    pytest.fail("the episode was moved although it could not be replayed")


def test_when_every_server_is_down_the_error_names_them(tmp_path):
    dead = [ServerProcess(), ServerProcess()]  # never started: nothing listens on their ports
    session = FailoverSession(ServerSet([d.url for d in dead]), connect_timeout_s=2.0)
    with pytest.raises(FailoverError) as raised:
        session.reset(task_id=TASK, seed=0)
    assert all(d.url in str(raised.value) for d in dead)


def test_server_urls_come_from_the_argument_then_tracefix_urls_then_tracefix_url(monkeypatch):
    monkeypatch.setenv("TRACEFIX_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("TRACEFIX_URLS", "http://127.0.0.1:2/, http://127.0.0.1:3  http://127.0.0.1:2")
    assert server_urls() == ["http://127.0.0.1:2", "http://127.0.0.1:3"]
    assert server_urls("http://h:9,http://h:10") == ["http://h:9", "http://h:10"]
    monkeypatch.delenv("TRACEFIX_URLS")
    assert server_urls() == ["http://127.0.0.1:1"]
    with pytest.raises(ValueError, match="TRACEFIX_URLS"):
        ServerSet("")

"""Bad input over both transports of the real server on 127.0.0.1: a clear, small error, never a
dead session, a lost episode or a 500."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.sync.client import connect

from tests.helpers import EASY_TASK

MB14 = 14_000_000
SMALL_REPLY = 10_000
"""Bytes an error reply may take, whatever the request held."""


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws"


def exchange(ws, message) -> dict:
    ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))
    return json.loads(ws.recv(timeout=120))


def start_episode(ws) -> dict:
    reply = exchange(ws, {"type": "reset", "data": {"task_id": EASY_TASK}})
    assert reply["type"] == "observation", reply
    reply = exchange(ws, {"type": "step", "data": {"action_type": "VIEW_CODE"}})
    assert reply["data"]["observation"]["steps_used"] == 1
    return reply


def assert_episode_alive(ws, steps_so_far: int = 1) -> None:
    """The same episode is still running on this socket: its step counter carries on."""
    state = exchange(ws, {"type": "state"})
    assert state["type"] == "state" and state["data"]["task_id"] == EASY_TASK
    assert state["data"]["step_count"] == steps_so_far
    step = exchange(ws, {"type": "step", "data": {"action_type": "VIEW_CODE"}})
    assert step["data"]["observation"]["steps_used"] == steps_so_far + 1


# -- closing quotes (item 5) -------------------------------------------------------------------------
def test_http_400_keeps_the_closing_quote(server_url):
    response = httpx.post(f"{server_url}/reset", json={"task_id": "curated/nosuch"}, timeout=30)
    assert response.status_code == 400
    assert response.json()["detail"] == "unknown task id 'curated/nosuch'"


# -- frames that used to kill the session (item 6) ---------------------------------------------------
SURROGATE_STEP = '{"type": "step", "data": {"action_type": "REPLACE_LINES", "start_line": 1, "end_line": 1, "new_code_block": "\\ud800"}}'
DEEP = '{"type": "step", "data": ' + "[" * 100_000 + "]" * 100_000 + "}"
LONG_INT = '{"type": "reset", "data": {"seed": ' + "7" * 5_000 + "}}"


@pytest.mark.parametrize(
    "frame, fragment",
    [
        ("[1, 2]", "not a JSON array"),
        ("7", "not a JSON number"),
        ('"step"', "not a JSON string"),
        ("null", "not a JSON null"),
        (b"\x00\x01binary", "binary frames are not accepted"),
        (SURROGATE_STEP, "data.new_code_block is not valid Unicode text: character 1 is a lone surrogate (\\ud800)"),
        ('{"type": "step", "data": {"\\udfff": 1}}', "lone surrogate (\\udfff)"),
        (DEEP, "nested too deeply"),
        (LONG_INT, "Invalid JSON"),
        ("{nope", "Invalid JSON"),
    ],
    ids=["list", "number", "string", "null", "binary", "surrogate", "surrogate-key", "deep", "long-int", "bad-json"],
)
def test_malformed_frame_gets_an_error_and_the_episode_lives_on(server_url, frame, fragment):
    with connect(ws_url(server_url), max_size=None) as ws:
        start_episode(ws)
        reply = exchange(ws, frame)
        assert reply["type"] == "error", reply
        assert fragment in reply["data"]["message"]
        assert "has no attribute" not in reply["data"]["message"]
        assert_episode_alive(ws)


def test_http_lone_surrogate_is_a_422_naming_the_problem(server_url):
    body = '{"action": {"action_type": "REPLACE_LINES", "start_line": 1, "end_line": 1, "new_code_block": "a\\ud800"}}'
    response = httpx.post(f"{server_url}/step", content=body, headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 422, response.text
    assert "character 2 is a lone surrogate" in response.json()["detail"][0]["msg"]


# -- small error replies (item 7) --------------------------------------------------------------------
def test_http_422_does_not_echo_a_14_mb_input(server_url):
    action = {"action_type": "REPLACE_LINES", "start_line": 1, "end_line": 1, "new_code_block": "x" * MB14}
    response = httpx.post(f"{server_url}/step", json={"action": action}, timeout=120)
    assert response.status_code == 422
    assert len(response.content) < SMALL_REPLY
    error = response.json()["detail"][0]
    assert error["loc"][-1] == "new_code_block" and "8000" in error["msg"] and "14,000,000 characters" in error["input"]


def test_http_request_validation_error_is_small_too(server_url):
    response = httpx.post(f"{server_url}/step", json={"action": "y" * MB14}, timeout=120)
    assert response.status_code == 422 and len(response.content) < SMALL_REPLY


def test_websocket_validation_error_is_small_and_names_the_field(server_url):
    with connect(ws_url(server_url), max_size=None) as ws:
        start_episode(ws)
        frame = {"type": "step", "data": {"action_type": "REPLACE_LINES", "start_line": 1, "end_line": 1, "new_code_block": "x" * MB14}}
        ws.send(json.dumps(frame))
        raw = ws.recv(timeout=120)
        assert len(raw) < SMALL_REPLY
        reply = json.loads(raw)
        assert reply["type"] == "error" and reply["data"]["code"] == "VALIDATION_ERROR"
        assert "new_code_block" in reply["data"]["message"] and "8000" in reply["data"]["message"]
        assert_episode_alive(ws)


def test_http_over_long_task_id_is_a_short_400(server_url):
    response = httpx.post(f"{server_url}/reset", json={"task_id": "t" * 1_000_000}, timeout=60)
    assert response.status_code == 400 and len(response.content) < SMALL_REPLY
    assert "task_id is too long" in response.json()["detail"]


# -- reset arguments checked alike on both transports (item 8) ---------------------------------------
@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"seed": "abc"}, "seed must be an integer, got 'abc'"),
        ({"seed": 1.5}, "seed must be an integer, got 1.5"),
        ({"seed": True}, "seed must be an integer, got True"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"task_id": ["curated/chunk_off_by_one"]}, "task_id must be a string, got a JSON array"),
        ({"split": {"name": "curated"}}, "split must be a string, got a JSON object"),
        ({"difficulty": 3}, "difficulty must be a string, got 3"),
        ({"episode_id": 5}, "episode_id must be a string, got 5"),
    ],
)
def test_websocket_reset_arguments_are_type_checked(server_url, data, fragment):
    with connect(ws_url(server_url)) as ws:
        start_episode(ws)
        reply = exchange(ws, {"type": "reset", "data": data})
        assert reply["type"] == "error" and fragment in reply["data"]["message"], reply
        assert "unhashable" not in reply["data"]["message"]
        assert_episode_alive(ws)


def test_websocket_episode_id_comes_back_as_the_string_sent(server_url):
    with connect(ws_url(server_url)) as ws:
        reply = exchange(ws, {"type": "reset", "data": {"task_id": EASY_TASK, "episode_id": "run-7"}})
        assert reply["data"]["observation"]["metadata"]["episode_id"] == "run-7"
        assert exchange(ws, {"type": "state"})["data"]["episode_id"] == "run-7"


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"task_id": ["curated/chunk_off_by_one"]}, "task_id must be a string"),
        ({"difficulty": ["easy"]}, "difficulty must be a string"),
        ({"task_id": "\ud800"}, "task_id is not valid Unicode text"),
    ],
)
def test_http_reset_arguments_are_400_not_500(server_url, payload, fragment):
    body = json.dumps(payload)  # ensure_ascii: the lone surrogate travels as the escape \ud800
    response = httpx.post(f"{server_url}/reset", content=body, headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["detail"]


# -- /metadata (item 11) -----------------------------------------------------------------------------
def test_metadata_has_readme_author_and_a_working_documentation_url(server_url):
    from pathlib import Path

    with httpx.Client(base_url=server_url, timeout=30) as http:
        metadata = http.get("/metadata").json()
        readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
        assert metadata["readme_content"] == readme
        assert metadata["author"]
        assert metadata["documentation_url"]
        assert http.get(metadata["documentation_url"]).status_code == 200

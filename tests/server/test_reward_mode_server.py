"""reward_mode as a reset argument of the server, over HTTP and WebSocket."""

from __future__ import annotations

import httpx

from tests.helpers import EASY_FIX, EASY_TASK, RUN, SUBMIT
from tracefix.client import TraceFixEnv


def test_http_reset_refuses_an_unknown_reward_mode(server_url):
    response = httpx.post(f"{server_url}/reset", json={"task_id": EASY_TASK, "reward_mode": "dense"}, timeout=30)
    assert response.status_code == 400
    assert response.json()["detail"] == "unknown reward_mode 'dense'; use one of shaped, score, binary"


def test_binary_episode_over_websocket(server_url):
    with TraceFixEnv(base_url=server_url).sync() as env:
        first = env.reset(task_id=EASY_TASK, reward_mode="binary")
        assert first.observation.metadata["reward_mode"] == "binary"
        rewards = [env.step(action).reward for action in (RUN, EASY_FIX, RUN)]
        final = env.step(SUBMIT)
        assert rewards == [0.0, 0.0, 0.0] and final.reward == 1.0 and final.observation.success
        assert env.state().total_reward == 1.0

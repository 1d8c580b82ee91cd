"""A scripted OpenAI-compatible chat server on 127.0.0.1 (real HTTP; no outside API is ever called).

Each ``POST /v1/chat/completions`` takes the next behaviour from the script:

* ``reply(text)`` answers with ``text`` as the assistant message;
* ``status(code, retry_after=None)`` answers with an OpenAI-style error (429 = rate limit);
* ``hang(seconds)`` waits that long before answering (the client's timeout fires first).

When the script is empty it answers ``{"action_type": "SUBMIT"}``.  Requests are recorded.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

SUBMIT_JSON = json.dumps({"action_type": "SUBMIT"})


@dataclass
class Behaviour:
    kind: str
    text: str = ""
    code: int = 200
    seconds: float = 0.0
    retry_after: Optional[float] = None


def reply(text: str) -> Behaviour:
    return Behaviour("reply", text=text)


def status(code: int, retry_after: Optional[float] = None) -> Behaviour:
    return Behaviour("status", code=code, retry_after=retry_after)


def hang(seconds: float) -> Behaviour:
    return Behaviour("hang", seconds=seconds)


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeOpenAI:
    """Start with ``with FakeOpenAI() as fake:``; ``fake.base_url`` ends in ``/v1``."""

    def __init__(self) -> None:
        self.script: list[Behaviour] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> JSONResponse:
            body = await request.json()
            with self._lock:
                self.requests.append(body)
                behaviour = self.script.pop(0) if self.script else reply(SUBMIT_JSON)
            model = body.get("model", "fake")
            if behaviour.kind == "hang":
                await asyncio.sleep(behaviour.seconds)
                return JSONResponse(_completion(SUBMIT_JSON, model))
            if behaviour.kind == "status":
                headers = {"retry-after": str(behaviour.retry_after)} if behaviour.retry_after is not None else {}
                error = {"error": {"message": f"scripted error {behaviour.code}", "type": "rate_limit_error" if behaviour.code == 429 else "server_error", "code": behaviour.code}}
                return JSONResponse(error, status_code=behaviour.code, headers=headers)
            return JSONResponse(_completion(behaviour.text, model))

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-openai", daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def load(self, *behaviours: Behaviour) -> "FakeOpenAI":
        with self._lock:
            self.script = list(behaviours)
            self.requests = []
        return self

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake OpenAI server did not start")
            time.sleep(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

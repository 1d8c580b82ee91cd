"""Typed OpenEnv client for TraceFix: a persistent WebSocket session per client instance.

Example::

    from tracefix.client import TraceFixEnv
    from tracefix.models import CodeAction

    with TraceFixEnv(base_url="http://127.0.0.1:7860").sync() as env:
        result = env.reset(task_id="curated/gcd_off_by_one")
        result = env.step(CodeAction(action_type="RUN_TESTS"))
        print(result.observation.test_results)

Several servers (``TRACEFIX_URLS``), sessions spread over them and moved off a server that dies:
:mod:`tracefix.failover`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from openenv.core import EnvClient
from openenv.core.client_types import StepResult

from tracefix.core.constants import ENV_NAME
from tracefix.models import CodeAction, CodeObservation, TraceFixState


class TraceFixEnv(EnvClient[CodeAction, CodeObservation, TraceFixState]):
    """Client for a TraceFix server (``tracefix serve`` / ``uv run server``)."""

    def _step_payload(self, action: CodeAction) -> Dict[str, Any]:
        # Only the fields that matter travel: non-edit actions carry no line numbers or code.
        return action.model_dump(mode="json", exclude_none=True)

    def _parse_result(self, payload: Dict[str, Any]) -> StepResult[CodeObservation]:
        fields = dict(payload.get("observation") or {})
        fields["reward"] = payload.get("reward")
        fields["done"] = bool(payload.get("done", False))
        fields.setdefault("metadata", payload.get("metadata") or {})
        observation = CodeObservation.model_validate(fields)
        return StepResult(observation=observation, reward=payload.get("reward"), done=observation.done)

    def _parse_state(self, payload: Dict[str, Any]) -> TraceFixState:
        return TraceFixState.model_validate(payload)


def _task_api(base_url: str, method: str, route: str, payload: Optional[Dict[str, Any]] = None, timeout_s: float = 30.0) -> Any:
    import httpx

    response = httpx.request(method, f"{base_url.rstrip('/')}/{ENV_NAME}/{route}", json=payload, timeout=timeout_s)
    if response.status_code >= 400:
        raise ValueError(f"{route} {payload or ''}: HTTP {response.status_code}: {response.text.strip()[:200]}")
    return response.json()


def list_splits(base_url: str, timeout_s: float = 30.0) -> List[Dict[str, Any]]:
    """The server's task splits (OpenEnv task API): ``[{"name", "type", "num_tasks"}, ...]``."""
    return list(_task_api(base_url, "GET", "splits", timeout_s=timeout_s))


def list_tasks(base_url: str, split: str, timeout_s: float = 30.0) -> List[Dict[str, Any]]:
    """The public specs of a split's tasks (id, index, difficulty, title, tags); raises ValueError on 4xx."""
    return list(_task_api(base_url, "POST", "tasks", {"split": split}, timeout_s=timeout_s).get("tasks", []))

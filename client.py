"""Typed OpenEnv client for TraceFix: a persistent WebSocket session per client instance.

Example::

    from tracefix.client import TraceFixEnv
    from tracefix.models import CodeAction

    with TraceFixEnv(base_url="http://127.0.0.1:7860").sync() as env:
        result = env.reset(task_id="curated/gcd_off_by_one")
        result = env.step(CodeAction(action_type="RUN_TESTS"))
        print(result.observation.test_results)
"""

from __future__ import annotations

from typing import Any, Dict

from openenv.core import EnvClient
from openenv.core.client_types import StepResult

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

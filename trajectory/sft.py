"""Supervised fine-tuning data from successful trajectories, in OpenEnv's collected-episode format.

Each kept episode becomes one JSON line shaped like ``openenv.core.harness.collect.EpisodeRecord``
(the ``results.jsonl`` that ``openenv collect`` writes and TRL's ``SFTTrainer`` reads through its
``messages`` column):

* ``messages``: the system prompt the agent was given, then for every step the observation it saw
  as a user turn (rendered by :func:`tracefix.agents.prompting.render_observation`, exactly what
  the ``llm`` agent sends) and the action it took as an assistant turn, in the JSON the ``llm``
  agent emits (``{"action_type": "REPLACE_LINES", "start_line": 3, ...}``);
* ``reward``: the episode's score; ``done``: true;
* ``tool_trace``: the same steps as tool calls (tool names and arguments from
  :mod:`tracefix.core.actions`), for trainers that use tool calling;
* ``metrics`` (score, success, return, steps), ``task`` (id, split, difficulty, seed),
  ``artifacts`` (the trajectory file) and ``extra`` (agent, model, reward mode, versions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from tracefix.agents.prompting import render_observation
from tracefix.core.actions import spec_for
from tracefix.core.prompts import SYSTEM_PROMPT
from tracefix.models import CodeAction
from tracefix.trajectory.reader import TrajectoryFormatError, read_trajectory, trajectory_files
from tracefix.trajectory.schema import Trajectory, dump_action


def action_message(action: CodeAction) -> str:
    """The assistant turn: the action as the JSON object the ``llm`` agent replies with."""
    return json.dumps(dump_action(action), ensure_ascii=False)


def tool_arguments(action: CodeAction) -> dict[str, Any]:
    """The action's arguments under their tool names (``new_code`` for ``new_code_block``)."""
    spec = spec_for(action.action_type)
    return {arg.tool_name: getattr(action, arg.field) for arg in spec.args}


def trajectory_messages(trajectory: Trajectory, system_prompt: Optional[str] = None) -> list[dict[str, str]]:
    """System prompt, then (observation, action) turn pairs; the final observation has no reply, so it is left out."""
    metadata = trajectory.header.observation.metadata or {}
    system = system_prompt or metadata.get("system_prompt") or SYSTEM_PROMPT
    messages = [{"role": "system", "content": system}]
    observation = trajectory.header.observation
    for step in trajectory.steps:
        messages.append({"role": "user", "content": render_observation(observation)})
        messages.append({"role": "assistant", "content": action_message(step.action)})
        observation = step.observation
    return messages


def sft_record(trajectory: Trajectory, system_prompt: Optional[str] = None) -> dict[str, Any]:
    """One ``EpisodeRecord``-shaped dict (see the module docstring)."""
    from openenv.core.harness.collect import EpisodeRecord

    header = trajectory.header
    final = trajectory.final_observation
    tool_trace = [
        {
            "tool_name": spec_for(step.action.action_type).tool,
            "arguments": tool_arguments(step.action),
            "result": {
                "data": render_observation(step.observation),
                "done": step.done,
                "metadata": {"reward": step.reward},
                "error": step.observation.error,
            },
        }
        for step in trajectory.steps
    ]
    record = EpisodeRecord(
        episode_id=header.episode_id,
        messages=trajectory_messages(trajectory, system_prompt),
        reward=float(final.score or 0.0),
        done=trajectory.done,
        tool_trace=tool_trace,
        metrics={
            "score": final.score,
            "success": bool(final.success),
            "return": trajectory.episode_return,
            "steps": len(trajectory.steps),
            "hidden_passed": final.hidden_passed,
            "hidden_total": final.hidden_total,
        },
        verify_metrics={},
        artifacts={"trajectory": trajectory.path},
        task={"task_id": header.task_id, "split": header.split, "difficulty": header.difficulty, "seed": header.seed},
        extra={
            "agent": header.agent,
            "model": header.model,
            "reward_mode": header.reward_mode,
            "source": header.source,
            "env_version": header.env_version,
            "schema_version": header.schema_version,
        },
    )
    return record.to_dict()


@dataclass
class ExportSummary:
    files: int = 0
    kept: int = 0
    not_successful: int = 0
    below_score: int = 0
    other_agent: int = 0
    unreadable: list[str] = field(default_factory=list)


def keep_reason(trajectory: Trajectory, min_score: float, agents: Optional[set[str]]) -> Optional[str]:
    """``None`` when the trajectory is kept, else the summary counter it falls under."""
    if agents is not None and (trajectory.header.agent or "") not in agents:
        return "other_agent"
    if not trajectory.success:
        return "not_successful"
    if (trajectory.score or 0.0) < min_score:
        return "below_score"
    return None


def export_sft(
    sources: Iterable[Path | str],
    out: Path | str,
    *,
    min_score: float = 0.0,
    agents: Optional[Iterable[str]] = None,
    system_prompt: Optional[str] = None,
) -> ExportSummary:
    """Write one SFT example per successful trajectory (score >= ``min_score``) found in ``sources``."""
    wanted = set(agents) if agents else None
    summary = ExportSummary()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as sink:
        for path in trajectory_files(sources):
            summary.files += 1
            try:
                trajectory = read_trajectory(path)
            except TrajectoryFormatError as exc:
                summary.unreadable.append(str(exc))
                continue
            reason = keep_reason(trajectory, min_score, wanted)
            if reason is not None:
                setattr(summary, reason, getattr(summary, reason) + 1)
                continue
            sink.write(json.dumps(sft_record(trajectory, system_prompt), ensure_ascii=False) + "\n")
            summary.kept += 1
    return summary


__all__ = ["ExportSummary", "action_message", "export_sft", "sft_record", "tool_arguments", "trajectory_messages"]

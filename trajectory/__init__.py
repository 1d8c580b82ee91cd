"""Recorded trajectories: the file format, recording, reading, replay, terminal rendering, SFT export.

The public API, in the order an episode meets it::

    from tracefix.trajectory import EpisodeRecorder, RecordingSession, read_trajectory, replay_trajectory

    with RecordingSession(TraceFixRLGym(), EpisodeRecorder("runs/", source="python", agent="me")) as env:
        env.reset(task_id="curated/chunk_off_by_one", seed=0)
        env.step(CodeAction(action_type="SUBMIT"))
    trajectory = read_trajectory(env.path)
    assert replay_trajectory(trajectory).ok

The format is described in ``docs/trajectory-format.md``; :mod:`tracefix.trajectory.schema` is the
authority.  Submodules load lazily (``show`` needs Rich, ``sft`` needs OpenEnv's harness).
"""

from __future__ import annotations

from tracefix.trajectory.reader import TrajectoryFormatError, iter_trajectories, read_trajectory, trajectory_files
from tracefix.trajectory.recorder import EpisodeRecorder, RecordingSession, trajectory_file_name
from tracefix.trajectory.replay import Divergence, ReplayReport, replay_trajectory
from tracefix.trajectory.schema import (
    DEFAULT_REWARD_MODE,
    SCHEMA_VERSION,
    Trajectory,
    TrajectoryFooter,
    TrajectoryHeader,
    TrajectoryStep,
)

__all__ = [
    "DEFAULT_REWARD_MODE",
    "Divergence",
    "EpisodeRecorder",
    "RecordingSession",
    "ReplayReport",
    "SCHEMA_VERSION",
    "Trajectory",
    "TrajectoryFooter",
    "TrajectoryFormatError",
    "TrajectoryHeader",
    "TrajectoryStep",
    "iter_trajectories",
    "read_trajectory",
    "replay_trajectory",
    "trajectory_file_name",
    "trajectory_files",
]

"""Recording from every front end: `tracefix play --record`, `inference.py --record` (stdout unchanged)
and the server (`tracefix serve --record DIR`: every WebSocket session's episodes)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.helpers import EASY_FIX, EASY_TASK, RUN, SUBMIT, VIEW
from tracefix.cli.main import app
from tracefix.trajectory import read_trajectory, replay_trajectory, trajectory_files

runner = CliRunner()


def test_play_record_writes_one_replayable_file_per_episode(tmp_path):
    result = runner.invoke(app, ["play", "--agent", "search", "--task", EASY_TASK, "--episodes", "2", "--quiet",
                                 "--record", str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = trajectory_files([tmp_path])
    assert len(files) == 2 and result.output.count("trajectory: ") == 2
    for path in files:
        trajectory = read_trajectory(path)
        assert trajectory.header.source == "play" and trajectory.header.agent == "search"
        assert replay_trajectory(trajectory).ok
    assert {read_trajectory(p).header.seed for p in files} == {0, 1}


def test_inference_record_leaves_stdout_unchanged(server_url, tmp_path):
    import inference

    outputs = []
    for extra in ([], ["--record", str(tmp_path)]):
        out = io.StringIO()
        code = inference.main(["--agent", "search", "--task", EASY_TASK, "--env-url", server_url, *extra], stdout=out)
        assert code == 0
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1] and outputs[0].startswith("[START] task=curated/chunk_off_by_one")
    (path,) = trajectory_files([tmp_path])
    trajectory = read_trajectory(path)
    assert trajectory.header.source == "inference" and trajectory.header.agent == "search"
    end = outputs[1].splitlines()[-1]
    assert end == (f"[END] success=true steps={len(trajectory.steps)} score={trajectory.score:.2f} "
                   f"rewards={','.join(f'{r:.2f}' for r in trajectory.rewards)}")


@pytest.fixture()
def recording_server(tmp_path):
    from tracefix.server.embedded import embedded_server
    from tracefix.server.tracefix_rl_environment import configure_recording

    directory = tmp_path / "server-records"
    configure_recording(directory)
    try:
        with embedded_server() as url:
            yield url, directory
    finally:
        configure_recording(None)


def test_the_server_records_every_websocket_session(recording_server):
    from tracefix.client import TraceFixEnv

    url, directory = recording_server
    with TraceFixEnv(base_url=url).sync() as client:  # one session, two episodes
        client.reset(task_id=EASY_TASK, seed=5)
        for action in (RUN, EASY_FIX, RUN, SUBMIT):
            client.step(action)
        client.reset(task_id="curated/rotate_empty_list")
        client.step(VIEW)  # the session ends mid-episode
    with TraceFixEnv(base_url=url).sync() as other:  # a second session
        other.reset(task_id=EASY_TASK, seed=6)
        other.step(SUBMIT)
    httpx.post(f"{url}/reset", json={"task_id": EASY_TASK}, timeout=30).raise_for_status()  # stateless: no file

    files = trajectory_files([directory])
    by_task = sorted((read_trajectory(p) for p in files), key=lambda t: (t.header.task_id, t.header.seed or -1))
    assert len(files) == 3
    rotate = next(t for t in by_task if t.header.task_id == "curated/rotate_empty_list")
    assert rotate.footer is not None and rotate.footer.ended == "closed" and not rotate.footer.done
    solved = next(t for t in by_task if t.header.seed == 5)
    assert solved.header.source == "server" and solved.header.agent is None and solved.success
    assert solved.header.reset_args == {"task_id": EASY_TASK, "seed": 5}
    for trajectory in by_task:
        report = replay_trajectory(trajectory)
        assert report.ok, [d.describe() for d in report.divergences]


def test_serve_accepts_record_and_web_options():
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--record" in result.output and "--web" in result.output


def test_eval_rows_have_no_trajectory_key_without_record(server_url, tmp_path):
    out = tmp_path / "eval.jsonl"
    result = runner.invoke(app, ["eval", "--agent", "oracle", "--limit", "1", "--url", server_url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "trajectory" not in json.loads(out.read_text().splitlines()[0])


def test_unseeded_server_episodes_replay_too(recording_server):
    """No seed: the episode id is random, and replay pins it (and the task) from the file."""
    from tracefix.client import TraceFixEnv

    url, directory = recording_server
    with TraceFixEnv(base_url=url).sync() as client:
        client.reset(split="curated", index=0)
        client.step(RUN)
        client.step(SUBMIT)
    (path,) = trajectory_files([Path(directory)])
    trajectory = read_trajectory(path)
    assert trajectory.header.seed is None and trajectory.header.reset_args == {"split": "curated", "index": 0}
    assert replay_trajectory(trajectory).ok

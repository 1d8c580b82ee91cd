"""`tracefix eval` loses nothing: every finished episode is on disk, and --resume finishes a killed run.

The evaluations run for real: `tracefix eval` in a subprocess with its embedded server (killed with
SIGKILL mid-run, then resumed), or against a server process that is killed with SIGKILL and
replaced.  The resumed results must equal an uninterrupted run's for the same seeds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from bench.serverproc import ServerProcess
from tracefix.cli.main import app
from tracefix.cli.results_file import ResultsFile, read_rows

from .conftest import EPISODES, deterministic, eval_argv, rows_of

runner = CliRunner()


def complete_lines(path: Path) -> int:
    if not path.exists():
        return 0
    return path.read_bytes().count(b"\n")


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path, uninterrupted):
    out = tmp_path / "eval.jsonl"
    command = [sys.executable, "-m", "tracefix.cli.main", *eval_argv(out)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while complete_lines(out) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the evaluation wrote no results"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    saved = rows_of(out)
    assert 3 <= len(saved) < EPISODES, "the run was to be killed before it finished"
    assert all(r["done"] for r in saved)  # only finished episodes are ever written

    resumed = runner.invoke(app, eval_argv(out, "--resume"))
    assert resumed.exit_code == 0, resumed.output
    assert f"{len(saved)} of {EPISODES} episodes already done" in " ".join(resumed.output.split())
    final = rows_of(out)
    assert deterministic(final) == deterministic(uninterrupted)
    # the episodes saved before the kill were not run again: their rows are the very same lines
    by_key = {(r["agent"], r["task"], r["episode"]): r for r in final}
    for row in saved:
        assert by_key[(row["agent"], row["task"], row["episode"])] == row


def test_a_killed_server_is_replaced_and_resume_runs_what_it_lost(tmp_path, uninterrupted):
    out = tmp_path / "eval.jsonl"
    first = ServerProcess(log_path=str(tmp_path / "first.log")).start()
    try:
        command = [sys.executable, "-m", "tracefix.cli.main", *eval_argv(out, "--url", first.url)]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 240
        while complete_lines(out) < 2:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the evaluation wrote no results"
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)  # the server and its sandbox, mid-run
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode()[-2000:]  # the run ends; what it could not play is marked
    finally:
        first.stop()
    lost = [r for r in rows_of(out) if not r["done"]]
    assert lost, "the server was to be killed while episodes were still to run"
    assert all(r["error"] for r in lost)

    resumed = runner.invoke(app, eval_argv(out, "--resume"))  # on a new (embedded) server
    assert resumed.exit_code == 0, resumed.output
    assert deterministic(rows_of(out)) == deterministic(uninterrupted)


def test_a_line_cut_off_by_a_crash_is_dropped_and_its_episode_run_again(tmp_path, uninterrupted):
    out = tmp_path / "eval.jsonl"
    lines = [json.dumps(r) for r in uninterrupted[:4]]
    unfinished = dict(uninterrupted[4], done=False, error="ConnectionClosedError: no close frame received")
    out.write_text("\n".join(lines) + "\n" + json.dumps(unfinished) + "\n" + json.dumps(uninterrupted[5])[:40])
    kept, dropped = read_rows(out)
    assert kept == uninterrupted[:4] and dropped == 2

    resumed = runner.invoke(app, eval_argv(out, "--resume"))
    assert resumed.exit_code == 0, resumed.output
    assert "2 unfinished or cut-off line(s) will run again" in " ".join(resumed.output.split())
    assert deterministic(rows_of(out)) == deterministic(uninterrupted)


def test_resume_refuses_results_of_another_selection(tmp_path, uninterrupted):
    out = tmp_path / "eval.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in uninterrupted))
    other = runner.invoke(app, ["eval", "--agent", "search", "--split", "curated", "--limit", "2", "--out", str(out), "--resume"])
    assert other.exit_code == 2
    assert "holds episodes this run would not play" in " ".join(other.output.split())
    assert rows_of(out) == uninterrupted  # untouched


def test_resume_and_force_together_are_refused(tmp_path):
    out = tmp_path / "eval.jsonl"
    result = runner.invoke(app, ["eval", "--agent", "oracle", "--limit", "1", "--out", str(out), "--resume", "--force"])
    assert result.exit_code == 2 and "give one of them" in result.output


def test_every_finished_episode_is_on_disk_before_the_next_is_reported(tmp_path):
    """Appends are durable one by one: reading the file between appends sees each complete line."""
    out = tmp_path / "eval.jsonl"
    results = ResultsFile.start(out, force=False)
    row = {"agent": "a", "split": "s", "task": "t", "episode": 0, "seed": 0, "done": True}
    for episode in range(3):
        results.append(dict(row, episode=episode))
        assert [r["episode"] for r in read_rows(out)[0]] == list(range(episode + 1))
    results.close()
    again = runner.invoke(app, ["eval", "--agent", "oracle", "--limit", "1", "--out", str(out)])
    assert again.exit_code == 2 and "--resume" in again.output  # a new run never overwrites them silently

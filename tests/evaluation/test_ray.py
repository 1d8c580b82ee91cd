"""`tracefix eval --ray`: episodes across Ray actors, each with its own embedded server and sandbox pool.

A local Ray cluster on this machine (2 CPUs, no dashboard, no usage statistics, every Ray process
bound to 127.0.0.1).  The rows must equal the single-process path's for the same seeds.  Skipped,
with the reason, when the `ray` extra is not installed (`.ci/run` installs it).
"""

from __future__ import annotations

import ipaddress
import os
import sys

import pytest
from typer.testing import CliRunner

# Read by Ray when it is imported: no usage statistics, workers on this interpreter, loopback only.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="needs the `ray` extra (uv sync --extra ray); .ci/run installs it")

from tracefix.cli.main import app  # noqa: E402

from .conftest import EPISODES, deterministic, eval_argv, rows_of  # noqa: E402

pytestmark = pytest.mark.ray
runner = CliRunner()


@pytest.fixture(scope="module")
def local_cluster():
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _listening(pids: set) -> list:
    """(pid, address) of every listening TCP socket the processes ``pids`` hold, from /proc."""
    inodes = {}
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = pid
        except OSError:
            continue
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                    continue
                raw = bytes.fromhex(fields[1].split(":")[0])
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # host-order words
                found.append((inodes[fields[9]], ipaddress.ip_address(words)))
    return found


def test_the_cluster_listens_on_loopback_only(local_cluster):
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    from bench.serverproc import descendants

    sockets = _listening(set(descendants(os.getpid())))
    assert sockets, "the Ray processes (children of this one) listen somewhere"
    for pid, address in sockets:
        mapped = getattr(address, "ipv4_mapped", None)
        assert (mapped or address).is_loopback, (pid, str(address))


def test_two_actors_give_the_single_process_results(tmp_path, local_cluster, uninterrupted):
    out = tmp_path / "eval.jsonl"
    result = runner.invoke(app, eval_argv(out, "--ray", "--actors", "2"))
    assert result.exit_code == 0, result.output
    assert deterministic(rows_of(out)) == deterministic(uninterrupted)


def test_resume_on_ray_runs_only_what_is_missing(tmp_path, local_cluster, uninterrupted):
    import json

    out = tmp_path / "eval.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in uninterrupted[:6]))
    result = runner.invoke(app, eval_argv(out, "--ray", "--actors", "1", "--resume"))
    assert result.exit_code == 0, result.output
    assert f"6 of {EPISODES} episodes already done" in " ".join(result.output.split())
    final = rows_of(out)
    assert final[:6] == uninterrupted[:6]  # the saved episodes were kept, not played again
    assert deterministic(final) == deterministic(uninterrupted)


def test_without_ray_the_option_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    import tracefix.cli.eval_ray as eval_ray

    with pytest.raises(eval_ray.RayUnavailable, match="uv sync --extra ray"):
        eval_ray._import_ray(local=True)

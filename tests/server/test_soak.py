"""The soak, short: a server under mixed, hostile and faulty traffic, then checked for leaks and losses.

bench/soak.py (``--minutes 10`` for the README's numbers) run for about 30 s: honest and hostile
episodes (the adversarial suite's programs), clients vanishing mid-step, idle sessions, and the
three faults (kill -9 a zygote mid-run, kill -9 its bwrap, fill its /tmp).  Deselect with
``-m "not soak"``.
"""

from __future__ import annotations

import os

import pytest

from bench.soak import FAULTS, SoakConfig, run_soak
from tracefix.sandbox import capabilities

pytestmark = pytest.mark.soak

FAST_HOSTILE = ["fork_bomb", "deep_recursion", "exhaust_fds", "read_etc_passwd", "kill_minus_one", "segfault_ctypes",
                "garbage_on_result_fds", "forged_frame_then_exit", "monkeypatch_builtins", "binary_output",
                "print_under_the_limit", "memory_bomb_single_alloc", "subprocess", "os_exit_0", "sigalrm_kills_itself"]
"""Adversarial programs that end within a second (the 10-minute soak plays all of them, infinite loops too)."""


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("soak")
    config = SoakConfig(
        seconds=30, slots=6, idle_timeout_s=2.0, fault_every_s=5.0, sample_every_s=2.0, seed=13, min_faults=len(FAULTS),
        weights={"honest": 0.45, "hostile": 0.25, "vanish": 0.12, "idle": 0.08, "abandon": 0.10},
        hostile_cases=FAST_HOSTILE, workdir=str(workdir),
    )
    return run_soak(config)


def test_no_episode_is_lost_and_nothing_goes_wrong(soak):
    episodes = soak["episodes"]
    assert episodes["lost"] == 0, soak["lost_examples"]
    assert episodes["finished"] + episodes["dropped_on_purpose"] == episodes["started"]
    assert soak["errors"] == 0, soak["error_examples"]
    assert soak["server_errors"] == 0, soak["server_error_examples"]
    assert episodes["finished"] > 20 and soak["hostile_cases_played"] >= 5
    assert soak["sessions"]["vanish"] >= 1 and soak["sessions"]["idle"] >= 1


def test_every_fault_is_reported_and_recovered_without_touching_other_sessions(soak):
    ran = {f["kind"] for f in soak["faults"] if not f.get("skipped")}
    expected = {"fill_tmp"}
    if os.geteuid() == 0:  # finding the run from outside takes root (CI runs as root)
        expected.add("kill_zygote")
        if capabilities()["best"] == "full":  # the reduced tier has no bwrap
            expected.add("kill_bwrap")
    assert ran == expected, soak["faults"]
    assert set(FAULTS) >= ran
    for fault in soak["faults"]:
        if fault.get("skipped"):
            continue
        assert fault.get("reported") and fault.get("recovered"), fault
        assert fault["other_sessions_errors_meanwhile"] == 0, fault
        if fault["kind"] == "fill_tmp":
            assert fault["next_run_tmp_empty"], fault


def test_idle_sessions_are_closed_by_the_server(soak):
    assert soak["idle_sessions_reaped"] == soak["sessions"]["idle"]


def test_the_server_ends_where_it_started(soak):
    """Once every client is gone: no session, no busy worker, no extra process, fd or thread, no temp file."""
    base, final = soak["baseline"], soak["final"]
    cap = soak["end_capacity"]
    assert cap["sessions"]["open"] == 0
    assert cap["sandbox"]["idle"] == cap["sandbox"]["size"] and cap["syntax_sandbox"]["idle"] == cap["syntax_sandbox"]["size"]
    assert (final["processes"], final["fds"], final["threads"]) == (base["processes"], base["fds"], base["threads"])
    assert soak["server_tmp_leftovers"] == []

"""Bad sandbox settings stop the server (and play) at start-up; the tier in force is logged and shown."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tracefix.sandbox import capabilities

CLI = [sys.executable, "-m", "tracefix.cli.main"]


def run(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["play", "--quiet"], ["doctor"]])
def test_an_unknown_tier_stops_with_the_valid_tiers(command: list[str]) -> None:
    result = run(command, {"TRACEFIX_SANDBOX_TIER": "bogus"})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "unknown sandbox tier 'bogus'" in result.stderr
    assert "valid tiers: auto, full, reduced, none" in result.stderr
    assert "Traceback" not in result.stderr


def test_tier_none_is_refused_with_its_own_reason() -> None:
    result = run(["doctor"], {"TRACEFIX_SANDBOX_TIER": "none", "TRACEFIX_ALLOW_UNSANDBOXED": ""})
    assert result.returncode == 2
    assert "refused unless TRACEFIX_ALLOW_UNSANDBOXED=1" in result.stderr
    assert "install bubblewrap" not in result.stderr  # bubblewrap would not help: tier none was asked for


@pytest.mark.parametrize("setting", ["TRACEFIX_SANDBOX_POOL_SIZE", "TRACEFIX_SYNTAX_POOL_SIZE"])
@pytest.mark.parametrize("value", ["zero", "-3"])
def test_malformed_sandbox_numbers_stop_the_server(setting: str, value: str) -> None:
    result = run(["serve", "--port", "0"], {setting: value})
    assert result.returncode == 2 and setting in result.stderr, (result.stdout, result.stderr)


def test_doctor_shows_the_tier_in_force_and_why() -> None:
    best = capabilities()["best"]
    result = run(["doctor"], {"TRACEFIX_SANDBOX_TIER": "auto"})
    assert result.returncode == 0
    assert f"in force: tier '{best}' (auto)" in result.stdout
    if capabilities()["tiers"]["reduced"]["available"]:
        forced = run(["doctor"], {"TRACEFIX_SANDBOX_TIER": "reduced"})
        assert forced.returncode == 0 and "in force: tier 'reduced'" in forced.stdout


def test_the_server_log_names_the_tier_at_start_up() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(CLI + ["serve", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Application startup complete" in line:
                break
        log = "".join(lines)
        assert f"TraceFix sandbox: tier '{capabilities()['best']}'" in log, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)

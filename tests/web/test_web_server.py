"""The page is served only when asked for, and serving it changes nothing else about the server."""

from __future__ import annotations

import os

import httpx

from tests.helpers import EASY_FIX, EASY_TASK, SUBMIT
from tracefix.server.embedded import embedded_server


def test_web_flag_serves_the_tracefix_tab_and_keeps_the_api(monkeypatch):
    monkeypatch.delenv("ENABLE_WEB_INTERFACE", raising=False)
    with embedded_server(web=True) as url:
        assert httpx.get(f"{url}/web/", timeout=60, follow_redirects=True).status_code == 200
        config = httpx.get(f"{url}/web/config", timeout=60).json()
        assert config["title"] == "TraceFix" and config["analytics_enabled"] is False
        ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
        assert {"tf-reset", "tf-code", "tf-tests", "tf-rewards", "tf-traj-upload"} <= ids
        assert {f"tf-action-{tool}" for tool in ("view_code", "run_tests", "replace_lines", "undo_edit",
                                                 "reset_to_original", "submit")} <= ids
        from tracefix.client import TraceFixEnv

        with TraceFixEnv(base_url=url).sync() as client:
            client.reset(task_id=EASY_TASK)
            client.step(EASY_FIX)
            assert client.step(SUBMIT).observation.success
        assert httpx.get(f"{url}/health", timeout=30).status_code == 200
    assert os.environ.get("ENABLE_WEB_INTERFACE") is None  # the flag was only lent to create_app
    assert os.environ.get("GRADIO_ANALYTICS_ENABLED") == "False"


def test_without_the_flag_there_is_no_page(server_url):
    assert httpx.get(f"{server_url}/web/", timeout=30).status_code == 404


def test_the_environment_variable_turns_the_page_on(monkeypatch):
    from tracefix.server.app import build_app

    monkeypatch.setenv("ENABLE_WEB_INTERFACE", "true")
    paths = {getattr(route, "path", "") for route in build_app().routes}
    assert "/web" in paths
    monkeypatch.setenv("ENABLE_WEB_INTERFACE", "false")
    assert "/web" not in {getattr(route, "path", "") for route in build_app().routes}

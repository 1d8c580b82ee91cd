"""The web page in a real browser: headless Chromium (Debian's package) driven by Playwright,
against the real server on 127.0.0.1 with the page at /web.  The page can reach nothing but
127.0.0.1 (every other request is aborted).  Skipped, with the reason, where no browser exists.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import EASY_TASK, RUN, SUBMIT, UNDO, replace
from tracefix.agents.oracle import fix_actions
from tracefix.core.environment import TraceFixRLGym
from tracefix.trajectory import EpisodeRecorder, RecordingSession, read_trajectory, replay_trajectory, trajectory_files
from tracefix.web.browser import TraceFixPage, chromium_browser, local_page, unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
REASON = unavailable_reason()
pytestmark = [
    pytest.mark.skipif(REASON is not None, reason=f"no browser for the web page tests: {REASON}"),
    # Gradio's queue calls pandas APIs that pandas 3 deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

ORACLE_TASK = "curated/playlist_mutable_default"  # two edits


@pytest.fixture(scope="module")
def web_server(tmp_path_factory):
    from tracefix.server.embedded import EmbeddedServer
    from tracefix.server.tracefix_rl_environment import configure_recording

    records = tmp_path_factory.mktemp("web-records")
    configure_recording(records)
    try:
        with EmbeddedServer(web=True) as server:
            yield server.base_url, records
    finally:
        configure_recording(None)


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as instance:
        yield instance


@pytest.fixture()
def page(browser, web_server):
    page = local_page(browser)
    yield TraceFixPage(page, web_server[0]).open()
    page.context.close()


def test_an_oracle_episode_played_through_the_page_shows_success(page, web_server, registry):
    task = registry.get(ORACLE_TASK)
    p = page.page
    page.new_episode(ORACLE_TASK, seed=4)
    assert p.locator("#tf-code .tf-line").count() == len(task.buggy_code.splitlines())
    assert p.locator("#tf-status [data-state=playing]").count() == 1

    page.act("run_tests")
    failing = p.locator("#tf-tests tr[data-passed=false]")
    assert failing.count() >= 1 and "expected" in failing.first.inner_text()

    for action in fix_actions(task.buggy_code, task.reference_code):
        page.replace_lines(action.start_line, action.end_line, action.new_code_block.rstrip("\n"))
        edited = p.locator("#tf-code .tf-line[data-edited=true]")
        assert edited.count() == 1 and edited.get_attribute("data-line") == str(action.start_line)
        assert edited.inner_text().split("\n", 1)[-1].strip() == action.new_code_block.strip()

    page.act("run_tests")
    tests = p.locator("#tf-tests .tf-tests")
    assert tests.get_attribute("data-passed") == tests.get_attribute("data-total")
    page.act("submit")
    result = p.locator("#tf-status .tf-result")
    assert result.get_attribute("data-success") == "true" and "Solved" in result.inner_text()
    assert float(result.get_attribute("data-score")) > 0.9
    steps = 2 + len(fix_actions(task.buggy_code, task.reference_code)) + 1
    assert p.locator("#tf-rewards rect.tf-bar").count() == steps
    assert p.locator("#tf-log .tf-log").get_attribute("data-steps") == str(steps)

    # The server recorded the page's episode; it replays identically.
    recorded = [read_trajectory(f) for f in trajectory_files([web_server[1]])]
    mine = [t for t in recorded if t.header.task_id == ORACLE_TASK and t.header.seed == 4]
    assert len(mine) == 1 and mine[0].header.source == "web" and mine[0].success
    assert replay_trajectory(mine[0]).ok


def test_mistakes_on_the_page_are_explained_not_crashes(page, tmp_path):
    p = page.page
    page.page.click("#tf-action-run_tests")  # no episode yet
    p.wait_for_selector("#tf-status [data-notice=true]")
    assert "start an episode first" in p.locator("#tf-status").inner_text()
    page.new_episode(EASY_TASK)
    p.locator("#tf-start input").fill("7")
    p.locator("#tf-end input").fill("3")
    p.click("#tf-action-replace_lines")
    p.wait_for_selector("#tf-status [data-notice=true]")
    assert "end_line (3) must be >= start_line (7)" in p.locator("#tf-status").inner_text()
    assert p.locator("#tf-log .tf-log").get_attribute("data-steps") == "0"  # nothing reached the environment
    page.replace_lines(40, 40, "x = 1")  # outside the program: the environment's own error and penalty
    assert "outside the program" in p.locator("#tf-status").inner_text()
    assert p.locator("#tf-rewards rect.tf-bar.tf-down").count() == 1

    page.open_viewer()
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('{"kind": "step"}\n')
    p.locator("#tf-traj-upload input[type=file]").set_input_files(str(garbage))
    p.wait_for_selector("#tf-traj-facts [data-notice=true]")
    assert "the first line must be the header" in p.locator("#tf-traj-facts").inner_text()


@pytest.fixture()
def search_trajectory(tmp_path) -> Path:
    """A recorded episode with an edit, an undo and a fix (made in-process, not through the page)."""
    from tests.helpers import EASY_FIX

    with RecordingSession(TraceFixRLGym(), EpisodeRecorder(tmp_path, agent="scripted")) as env:
        env.reset(task_id=EASY_TASK, seed=2)
        for action in (RUN, replace(11, 11, "    return []"), UNDO, EASY_FIX, RUN, SUBMIT):
            env.step(action)
    return env.path


def test_a_recorded_trajectory_can_be_stepped_through_both_ways(page, search_trajectory):
    p = page.page
    trajectory = read_trajectory(search_trajectory)
    page.open_viewer()
    page.upload_trajectory(str(search_trajectory))
    facts = p.locator("#tf-traj-facts .tf-facts")
    assert facts.get_attribute("data-task") == EASY_TASK and facts.get_attribute("data-steps") == "6"
    assert page.viewer_index() == 0 and "reset" in p.locator("#tf-traj-action").inner_text()
    assert p.locator("#tf-traj-rewards rect.tf-bar").count() == 6

    shown = []
    for expected in range(1, 7):
        assert page.viewer_move(forward=True) == expected
        step = trajectory.steps[expected - 1]
        action = p.locator("#tf-traj-action .tf-step-action")
        assert action.get_attribute("data-action") == step.action.action_type.value
        assert float(action.get_attribute("data-reward")) == pytest.approx(step.reward)
        shown.append(p.locator("#tf-traj-code .tf-line[data-edited=true]").count())
    # the bad edit (step 2) is highlighted, gone after the undo (3), the fix (4) stays through RUN_TESTS (5)
    assert shown == [0, 1, 0, 1, 1, 1]
    assert "Solved" in p.locator("#tf-traj-action").inner_text()  # the last step shows the verdict

    for expected in (5, 4):
        assert page.viewer_move(forward=False) == expected
    assert "+    for start in range(0, len(items), size):" in p.locator("#tf-traj-diff").inner_text()
    assert p.locator("#tf-traj-rewards rect.tf-current").count() == 1
    page.viewer_move(forward=False)  # step 3: the undo removed the bad edit
    diff = p.locator("#tf-traj-diff").inner_text()
    assert "-    return []" in diff and "+    return chunks" in diff


def test_files_the_server_recorded_can_be_opened_from_the_page(page, web_server, search_trajectory):
    import shutil

    shutil.copy(search_trajectory, web_server[1] / "copied.jsonl")
    p = page.page
    page.open_viewer()  # opening the viewer lists the recording directory afresh
    page.load_recorded("copied.jsonl")
    assert p.locator("#tf-traj-facts .tf-facts").get_attribute("data-task") == EASY_TASK


def test_the_screenshot_command_saves_both_pictures(tmp_path):
    """The documented command, run as documented (its own process and browser)."""
    play, viewer = tmp_path / "web.png", tmp_path / "viewer.png"
    command = [sys.executable, "-m", "tracefix.web.screenshot", "--out", str(play), "--viewer-out", str(viewer),
               "--task", EASY_TASK]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(play), str(viewer)]
    for picture in (play, viewer):
        header = picture.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", header[16:24])
        assert width == 1440 and height > 800

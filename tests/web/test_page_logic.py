"""The web page without a browser: its HTML fragments and the per-visitor episode and viewer logic.

The browser tests (test_browser.py) drive the same code through Chromium; these pin the details
(escaping, highlighting, error messages) quickly and without a browser.
"""

from __future__ import annotations

import re

import pytest

from tests.helpers import EASY_FIX, EASY_TASK, RUN, SUBMIT
from tracefix.core.actions import ACTIONS
from tracefix.models import CodeObservation, TestResult
from tracefix.trajectory import EpisodeRecorder, RecordingSession
from tracefix.web import views
from tracefix.web.session import PageError, PlaySession, TrajectoryView, carried_edits, resolve_recorded


def test_code_is_escaped_numbered_and_the_edit_highlighted():
    lines = ["def f(x):", "    return '<script>alert(1)</script>' if x[0] else \"[b]\"", "# end"]
    page = views.code_html(lines, (2, 2))
    assert "<script>" not in page and "&lt;script&gt;" in page
    rows = re.findall(r'<div class="tf-line([^"]*)"[^>]*? data-line="(\d+)"', page)
    assert [number for _, number in rows] == ["1", "2", "3"]
    assert [("tf-edited" in css) for css, _ in rows] == [False, True, False]
    assert 'data-edited="2-2"' in page and "lines 2-2 written by the last edit" in page


def test_highlighting_keeps_one_html_line_per_source_line():
    lines = ['x = """first', "second", 'third"""', "", "y = 1  # note"]
    highlighted = views.highlight_lines(lines)
    assert len(highlighted) == len(lines)
    assert re.sub(r"<[^>]+>", "", highlighted[1]) == "second" and highlighted[3] == ""
    assert 'class="tf-c"' in highlighted[4] and 'class="tf-n"' in highlighted[4]


def test_tests_table_reward_plot_and_status():
    observation = CodeObservation(
        task_id="t", tests_total=2, tests_passed=1, message="1/2 visible tests pass.", steps_used=1, steps_remaining=49,
        test_results=[TestResult(name="a", passed=True), TestResult(name="b<i>", passed=False, message="expected [1], got <2>")],
    )
    table = views.tests_html(observation, note="from step 1")
    assert 'data-passed="1" data-total="2"' in table and "b&lt;i&gt;" in table and "got &lt;2&gt;" in table
    assert table.count('data-passed="true"') == 1 and "from step 1" in table
    plot = views.reward_plot_svg([0.19, -0.01, 0.0, 0.74], current=2)
    assert plot.count('class="tf-bar') == 4 and 'data-return="0.920000"' in plot and 'class="tf-current"' in plot
    assert 'tf-bar tf-up" data-step="1"' in plot and 'tf-bar tf-down" data-step="2"' in plot
    assert 'data-state="playing"' in views.status_html(observation)
    done = observation.model_copy(update={"done": True, "success": True, "score": 0.97, "hidden_passed": 3, "hidden_total": 3})
    banner = views.status_html(done)
    assert 'data-success="true"' in banner and "Solved · score <b>0.97</b>" in banner


def test_the_legend_lists_every_action_from_the_one_table():
    legend = views.actions_legend_html()
    assert [m for m in re.findall(r"<code>([a-z_]+)</code>", legend)] == [spec.tool for spec in ACTIONS]


def test_a_visitor_plays_and_solves_an_episode(registry):
    session = PlaySession()
    session.reset(EASY_TASK, seed=0, title="chunks")
    assert session.observation.task_id == EASY_TASK and session.lines[8].startswith("    for start")
    session.act("run_tests")
    assert session.last_tested is not None and session.last_tested_step == 1
    assert session.lines_block(9, 9) == "    for start in range(0, len(items) - 1, size):"
    session.act("replace_lines", start_line=9, end_line=9, new_code=EASY_FIX.new_code_block)
    assert session.edited == (9, 9)
    session.act("run_tests")
    assert session.edited == (9, 9)  # the highlight stays while the program does not change
    session.act("submit")
    assert session.observation.done and session.observation.success and len(session.rewards) == 4
    with pytest.raises(PageError, match="the episode is over"):
        session.act("run_tests")
    session.close()


def test_a_visitor_gets_clear_errors(registry):
    session = PlaySession()
    with pytest.raises(PageError, match="start an episode first"):
        session.act("run_tests")
    with pytest.raises(PageError, match="unknown task id"):
        session.reset("curated/nope")
    session.reset(EASY_TASK)
    with pytest.raises(PageError, match=r"end_line \(2\) must be >= start_line \(5\)"):
        session.act("replace_lines", start_line=5, end_line=2, new_code="x")
    with pytest.raises(PageError, match="choose lines between 1 and 11"):
        session.lines_block(3, 40)
    session.act("undo_edit")  # nothing to undo: the environment says so, the page shows it
    assert "nothing to undo" in (session.observation.error or "")
    assert session.edited is None
    session.close()


def test_highlights_follow_edits_and_disappear_on_undo(gym, tmp_path):
    with RecordingSession(gym, EpisodeRecorder(tmp_path)) as env:
        env.reset(task_id=EASY_TASK)
        for action in (EASY_FIX, RUN):
            env.step(action)
        env.step(type(RUN)(action_type="UNDO_EDIT"))
        env.step(SUBMIT)
    view = TrajectoryView.load(env.path)
    assert view.edits == [None, (9, 9), (9, 9), None, None]
    assert view.latest_tests(3)[1] == "from step 2" and view.latest_tests(2)[1] == ""
    assert view.clamp(99) == 4 and view.clamp(-3) == 0 and view.clamp("x") == 0
    assert carried_edits([]) == []


def test_only_files_inside_the_recording_directory_can_be_opened(tmp_path):
    inside = tmp_path / "records"
    inside.mkdir()
    (inside / "a.jsonl").write_text("")
    (tmp_path / "secret.jsonl").write_text("")
    assert resolve_recorded(inside, "a.jsonl") == (inside / "a.jsonl").resolve()
    for name in ("../secret.jsonl", "/etc/passwd", "missing.jsonl"):
        with pytest.raises(PageError, match="no recorded trajectory"):
            resolve_recorded(inside, name)
    with pytest.raises(PageError, match="does not record"):
        resolve_recorded(None, "a.jsonl")

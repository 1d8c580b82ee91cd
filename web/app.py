"""The TraceFix tab of OpenEnv's web page at ``/web``: play an episode, or step through a recorded one.

OpenEnv mounts it when the server is built with ``gradio_builder=build_tracefix_tab`` and
``ENABLE_WEB_INTERFACE`` is on (``tracefix serve --web``).  The buttons, their labels and the
line-range editor's fields come from :mod:`tracefix.core.actions`, the one table of actions; the
HTML comes from :mod:`tracefix.web.views`; per-visitor state from :mod:`tracefix.web.session`.
"""

from __future__ import annotations

import html
from typing import Any, Optional

import gradio as gr

from tracefix.core.actions import ACTIONS, BY_TOOL
from tracefix.models import ActionType
from tracefix.trajectory.reader import TrajectoryFormatError
from tracefix.trajectory.sft import action_message
from tracefix.web import views
from tracefix.web.session import PageError, PlaySession, TrajectoryView, recorded_files, resolve_recorded

TITLE = "TraceFix"
SUBTITLE = (
    "Each episode is a buggy Python program with tests. View it, run the visible tests, replace line ranges, "
    "undo, and submit: hidden tests decide the score. Or load a recorded trajectory and step through it."
)
PLAY_CONCURRENCY = 4
"""Visitors' actions handled at the same time (each visitor has its own environment)."""


def _registry():
    from tracefix.server.tracefix_rl_environment import served_registry

    return served_registry()


def _recording_dir():
    from tracefix.server.tracefix_rl_environment import recording_directory

    return recording_directory()


def task_choices(split: str) -> list[tuple[str, str]]:
    try:
        tasks = _registry().tasks(split)
    except Exception:  # noqa: BLE001 - an unknown split simply has no tasks
        return []
    return [(f"{task.id} · {task.difficulty} · {task.title}", task.id) for task in tasks]


def _task_title(task_id: str) -> str:
    try:
        return _registry().get(task_id).title
    except Exception:  # noqa: BLE001
        return ""


def _label(tool: str) -> str:
    return tool.replace("_", " ")


# -- rendering of the play tab -----------------------------------------------------------------------
def render_play(session: Optional[PlaySession]) -> tuple[str, str, str, str, str, str]:
    """status, description, code, tests, reward plot, step log."""
    if session is None or session.observation is None:
        notice = session.notice if session is not None else None
        return (_notice(notice) + views.status_html(None), "", views.code_html([], empty="Start an episode to see the program."),
                views.tests_html(None), views.reward_plot_svg([]), views.log_html([]))
    observation = session.observation
    return (
        _notice(session.notice) + views.status_html(observation, max_steps=session.max_steps),
        views.description_html(observation, session.title),
        views.code_html(session.lines, session.edited),
        _tests(session),
        views.reward_plot_svg(session.rewards),
        views.log_html(session.entries),
    )


def _tests(session: PlaySession) -> str:
    tested = session.last_tested
    if tested is None:
        return views.tests_html(session.observation)
    stale = session.last_tested_step < len(session.entries)
    note = f"from step {session.last_tested_step}" + ("; the program may have changed since" if stale else "")
    return views.tests_html(tested, note=note)


def _notice(message: Optional[str]) -> str:
    if not message:
        return ""
    return f'<div class="tf-notice" data-notice="true">{html.escape(message)}</div>'


# -- handlers ---------------------------------------------------------------------------------------
def on_split(split: str):
    choices = task_choices(split)
    return gr.update(choices=choices, value=choices[0][1] if choices else None)


def on_reset(split: str, task_id: str, seed: Any, session: Optional[PlaySession]):
    session = session or PlaySession()
    try:
        seed_value = int(seed) if seed not in (None, "") else None
        session.reset(task_id, seed=seed_value, title=_task_title(task_id))
    except (PageError, ValueError, TypeError) as exc:
        session.notice = str(exc)
    return (session, *render_play(session))


def make_action_handler(tool: str):
    spec = BY_TOOL[tool]
    takes_range = bool(spec.args)

    def handler(session: Optional[PlaySession], start: Any = None, end: Any = None, new_code: Any = None):
        session = session or PlaySession()
        try:
            arguments: dict[str, Any] = {}
            if takes_range:
                arguments = {"start_line": _line_number(start, "start_line"), "end_line": _line_number(end, "end_line"),
                             "new_code": new_code if isinstance(new_code, str) else ""}
            session.act(tool, **arguments)
        except PageError as exc:
            session.notice = str(exc)
        return (session, *render_play(session))

    handler.__name__ = f"on_{tool}"
    return handler


def _line_number(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PageError(f"{name} must be a line number") from None
    if number < 1:
        raise PageError(f"{name} must be at least 1 (lines are numbered from 1)")
    return number


def on_load_lines(session: Optional[PlaySession], start: Any, end: Any, current: str):
    if session is None:
        return current, *render_play(session)
    try:
        block = session.lines_block(_line_number(start, "start_line"), _line_number(end, "end_line"))
        session.notice = None
    except PageError as exc:
        session.notice = str(exc)
        block = current
    return block, *render_play(session)


def close_session(session: Any) -> None:
    if isinstance(session, PlaySession):
        session.close()


# -- the trajectory viewer --------------------------------------------------------------------------
def render_frame(view: Optional[TrajectoryView], index: int) -> tuple[str, str, str, str, str, str]:
    """position, action, code, diff, tests, reward plot."""
    if view is None:
        empty = '<div class="tf-empty">Load a trajectory file (JSON Lines, as written by --record).</div>'
        return ("", empty, views.code_html([], empty="No trajectory loaded."), "", views.tests_html(None),
                views.reward_plot_svg([]))
    index = view.clamp(index)
    observation = view.observation(index)
    version = view.versions[index]
    if index == 0:
        header = view.trajectory.header
        args = ", ".join(f"{k}={v!r}" for k, v in header.reset_args.items()) or f"task_id={header.task_id!r}"
        action = (f'<div class="tf-step-action" data-step="0"><b>reset</b>({html.escape(args)})'
                  f'<div class="tf-status-detail">{html.escape(observation.message)}</div></div>')
        diff = '<div class="tf-empty">The program as the episode started.</div>'
    else:
        step = view.trajectory.steps[index - 1]
        error = f'<div class="tf-status-error">{html.escape(observation.error)}</div>' if observation.error else ""
        agent_error = (f'<div class="tf-status-error">agent: {html.escape(step.agent_error)}</div>'
                       if step.agent_error else "")
        kind = "tf-pill-up" if step.reward > 0 else ("tf-pill-down" if step.reward < 0 else "tf-pill-muted")
        action = (
            f'<div class="tf-step-action" data-step="{index}" data-action="{html.escape(step.action.action_type.value)}" '
            f'data-reward="{step.reward:.6f}"><pre class="tf-action-json">{html.escape(action_message(step.action))}</pre>'
            f'<div class="tf-status-line"><span class="tf-pill {kind}">reward {step.reward:+.2f}</span>'
            f'<span class="tf-status-msg">{html.escape(observation.message)}</span></div>{error}{agent_error}</div>'
        )
        diff = views.diff_html(version.diff) if (version.changed or step.action.action_type is ActionType.REPLACE_LINES) else \
            '<div class="tf-empty">This step did not change the program.</div>'
    if observation.done:
        action += views.status_html(observation)
    position = (f'<div class="tf-position" data-index="{index}" data-last="{view.last}">'
                f'{"reset" if index == 0 else f"step {index}"} of {view.last}</div>')
    return (
        position,
        action,
        views.code_html(list(version.lines), view.edits[index]),
        diff,
        views.tests_html(*view.latest_tests(index)),
        views.reward_plot_svg(view.trajectory.rewards, current=index or None),
    )


def facts_html(view: Optional[TrajectoryView], error: Optional[str] = None) -> str:
    if error:
        return f'<div class="tf-notice" data-notice="true">{html.escape(error)}</div>'
    if view is None:
        return ""
    trajectory = view.trajectory
    header = trajectory.header
    final = trajectory.final_observation
    if trajectory.done:
        outcome = f"{'solved' if final.success else 'not solved'} · score {final.score or 0:.2f}"
    else:
        outcome = "unfinished"
    rows = [
        ("task", f"{header.task_id} ({header.difficulty})"),
        ("agent", (header.agent or "unknown") + (f" · {header.model}" if header.model else "")),
        ("seed", "none" if header.seed is None else str(header.seed)),
        ("reward mode", header.reward_mode),
        ("steps", f"{len(trajectory.steps)} of {header.max_steps}"),
        ("outcome", f"{outcome} · return {trajectory.episode_return:+.2f}"),
        ("recorded", f"{header.started_at} ({header.source})"),
    ]
    cells = "".join(f"<span>{html.escape(k)}</span><div>{html.escape(v)}</div>" for k, v in rows)
    return (f'<div class="tf-facts" data-task="{html.escape(header.task_id)}" data-steps="{len(trajectory.steps)}">'
            f"{cells}</div>{views.description_html(header.observation)}")


def on_upload(file: Any):
    path = getattr(file, "name", file)
    return _load_view(path)


def on_load_recorded(name: Optional[str]):
    if not name:
        return _load_view(None, "choose a recorded trajectory first")
    try:
        path = resolve_recorded(_recording_dir(), name)
    except PageError as exc:
        return _load_view(None, str(exc))
    return _load_view(path)


def _load_view(path: Any, error: Optional[str] = None):
    view: Optional[TrajectoryView] = None
    if path and error is None:
        try:
            view = TrajectoryView.load(path)
        except TrajectoryFormatError as exc:
            error = str(exc).replace(str(path), "the file")
    slider = gr.update(maximum=max(1, view.last) if view else 1, value=0)
    return (view, facts_html(view, error), slider, *render_frame(view, 0))


def on_move(view: Optional[TrajectoryView], index: Any, delta: int):
    target = view.clamp((int(index or 0)) + delta) if view else 0
    return (gr.update(value=target), *render_frame(view, target))


def on_slide(view: Optional[TrajectoryView], index: Any):
    return render_frame(view, int(index or 0))


def recorded_choices() -> list[tuple[str, str]]:
    directory = _recording_dir()
    if directory is None:
        return []
    root = directory.resolve()
    return [(str(p.resolve().relative_to(root)), str(p.resolve().relative_to(root))) for p in recorded_files(directory)]


# -- the page ---------------------------------------------------------------------------------------
def build_tracefix_tab(web_manager: Any = None, action_fields: Any = None, metadata: Any = None,
                       is_chat_env: bool = False, title: str = TITLE, quick_start_md: str = "") -> gr.Blocks:
    """OpenEnv's ``gradio_builder`` hook: the TraceFix tab (its arguments are OpenEnv's, unused here)."""
    registry = _registry()
    splits = registry.split_names()
    first_split = "curated" if "curated" in splits else (splits[0] if splits else "")
    first_choices = task_choices(first_split)
    with gr.Blocks(title=TITLE) as page:
        gr.HTML(f"<style>{views.CSS}</style>", padding=False)
        gr.HTML(views.header_html(TITLE, SUBTITLE))
        with gr.Tabs():
            with gr.Tab("Play", id="tf-play-tab"):
                _play_tab(splits, first_split, first_choices)
            with gr.Tab("Trajectory viewer", id="tf-viewer-tab") as viewer_tab:
                recorded = _viewer_tab()
        # The server keeps recording while the page is open: list its files afresh when the viewer opens.
        viewer_tab.select(lambda: gr.update(choices=recorded_choices()), outputs=recorded)
    return page


def _play_tab(splits: list[str], first_split: str, first_choices: list[tuple[str, str]]) -> None:
    session = gr.State(None, delete_callback=close_session)
    with gr.Row(equal_height=False):
        with gr.Column(scale=7, min_width=420):
            with gr.Column(elem_classes="tf-card"):
                with gr.Row(elem_classes="tf-bottom"):
                    split = gr.Dropdown(splits, value=first_split, label="split", elem_id="tf-split", scale=1, min_width=150)
                    task = gr.Dropdown(first_choices, value=first_choices[0][1] if first_choices else None, label="task",
                                       elem_id="tf-task", filterable=True, scale=4, min_width=240)
                    seed = gr.Number(0, label="seed", precision=0, elem_id="tf-seed", scale=1, min_width=80)
                    reset = gr.Button("New episode", variant="primary", elem_id="tf-reset", scale=0, min_width=150)
                status = gr.HTML(views.status_html(None), elem_id="tf-status")
                description = gr.HTML("", elem_id="tf-description")
            code = gr.HTML(views.code_html([], empty="Start an episode to see the program."), elem_id="tf-code")
        with gr.Column(scale=5, min_width=360):
            with gr.Column(elem_classes="tf-card", elem_id="tf-actions"):
                gr.HTML("<h3>Actions</h3>")
                buttons: dict[str, gr.Button] = {}
                with gr.Row():
                    for spec in ACTIONS:
                        if not spec.args and spec.action_type is not ActionType.SUBMIT:
                            buttons[spec.tool] = gr.Button(_label(spec.tool), size="sm", elem_id=f"tf-action-{spec.tool}",
                                                           min_width=90)
                edit_spec = next(spec for spec in ACTIONS if spec.args)
                args = {arg.tool_name: arg for arg in edit_spec.args}
                gr.HTML(f'<div class="tf-edit-title"><b>{html.escape(_label(edit_spec.tool))}</b> '
                        f'<span class="tf-muted">{html.escape(edit_spec.summary)}</span></div>')
                with gr.Row(equal_height=True):
                    start = gr.Number(1, label=args["start_line"].tool_name, info=args["start_line"].doc, precision=0,
                                      minimum=1, elem_id="tf-start", min_width=100)
                    end = gr.Number(1, label=args["end_line"].tool_name, info=args["end_line"].doc, precision=0,
                                    minimum=1, elem_id="tf-end", min_width=100)
                gr.HTML(f'<div class="tf-arg-doc"><code>{args["new_code"].tool_name}</code> '
                        f'{html.escape(args["new_code"].doc)}</div>')
                new_code = gr.Code("", language="python", show_label=False, lines=4, max_lines=16, interactive=True,
                                   elem_id="tf-new-code")
                with gr.Row():
                    load = gr.Button("load these lines", size="sm", elem_id="tf-load-lines")
                    buttons[edit_spec.tool] = gr.Button(_label(edit_spec.tool), variant="primary", size="sm",
                                                        elem_id=f"tf-action-{edit_spec.tool}")
                for spec in ACTIONS:
                    if spec.action_type is ActionType.SUBMIT:
                        buttons[spec.tool] = gr.Button(_label(spec.tool), variant="primary", elem_id=f"tf-action-{spec.tool}")
                gr.HTML(views.actions_legend_html())
            with gr.Column(elem_classes="tf-card"):
                gr.HTML("<h3>Visible tests</h3>")
                tests = gr.HTML(views.tests_html(None), elem_id="tf-tests")
            with gr.Column(elem_classes="tf-card"):
                gr.HTML("<h3>Rewards</h3>")
                plot = gr.HTML(views.reward_plot_svg([]), elem_id="tf-rewards")
            with gr.Column(elem_classes="tf-card"):
                gr.HTML("<h3>Steps</h3>")
                log = gr.HTML(views.log_html([]), elem_id="tf-log")

    views_out = [status, description, code, tests, plot, log]
    busy = dict(concurrency_limit=PLAY_CONCURRENCY, concurrency_id="tracefix-play", trigger_mode="once")
    split.change(on_split, inputs=split, outputs=task)
    reset.click(on_reset, inputs=[split, task, seed, session], outputs=[session, *views_out], **busy)
    for tool, button in buttons.items():
        inputs = [session, start, end, new_code] if BY_TOOL[tool].args else [session]
        button.click(make_action_handler(tool), inputs=inputs, outputs=[session, *views_out], **busy)
    load.click(on_load_lines, inputs=[session, start, end, new_code], outputs=[new_code, *views_out], **busy)


def _viewer_tab() -> gr.Dropdown:
    view = gr.State(None)
    choices = recorded_choices()
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=320):
            with gr.Column(elem_classes="tf-card"):
                gr.HTML("<h3>Trajectory</h3>")
                upload = gr.File(label="trajectory file (.jsonl)", file_types=[".jsonl"], type="filepath",
                                 elem_id="tf-traj-upload")
                with gr.Row(visible=bool(choices) or _recording_dir() is not None, elem_classes="tf-bottom"):
                    recorded = gr.Dropdown(choices, value=None, label="recorded by this server", elem_id="tf-traj-recorded",
                                           scale=3, allow_custom_value=False)
                    load = gr.Button("load", size="sm", elem_id="tf-traj-load", scale=1, min_width=70)
                facts = gr.HTML("", elem_id="tf-traj-facts")
            with gr.Column(elem_classes="tf-card"):
                gr.HTML("<h3>Rewards</h3>")
                plot = gr.HTML(views.reward_plot_svg([]), elem_id="tf-traj-rewards")
            with gr.Column(elem_classes="tf-card"):
                gr.HTML("<h3>Visible tests</h3>")
                tests = gr.HTML(views.tests_html(None), elem_id="tf-traj-tests")
        with gr.Column(scale=8, min_width=480):
            with gr.Column(elem_classes="tf-card"):
                with gr.Row(equal_height=True):
                    back = gr.Button("◀ previous", size="sm", elem_id="tf-traj-prev", min_width=100, scale=0)
                    slider = gr.Slider(0, 1, value=0, step=1, label="step (0 = reset)", elem_id="tf-traj-slider", scale=4)
                    forward = gr.Button("next ▶", size="sm", elem_id="tf-traj-next", min_width=100, scale=0)
                position = gr.HTML("", elem_id="tf-traj-position")
                action = gr.HTML(render_frame(None, 0)[1], elem_id="tf-traj-action")
            with gr.Column(elem_classes="tf-card"):
                gr.HTML("<h3>Diff</h3>")
                diff = gr.HTML("", elem_id="tf-traj-diff")
            code = gr.HTML(render_frame(None, 0)[2], elem_id="tf-traj-code")

    frame_out = [position, action, code, diff, tests, plot]
    upload.upload(on_upload, inputs=upload, outputs=[view, facts, slider, *frame_out])
    load.click(on_load_recorded, inputs=recorded, outputs=[view, facts, slider, *frame_out])
    back.click(lambda v, i: on_move(v, i, -1), inputs=[view, slider], outputs=[slider, *frame_out], trigger_mode="once")
    forward.click(lambda v, i: on_move(v, i, +1), inputs=[view, slider], outputs=[slider, *frame_out], trigger_mode="once")
    slider.release(on_slide, inputs=[view, slider], outputs=frame_out)
    return recorded


__all__ = ["build_tracefix_tab", "render_frame", "render_play"]

"""HTML fragments of the TraceFix web page: code, tests, rewards, status, step log, trajectory facts.

Pure functions from observations to HTML strings, so they can be tested without a browser.  Every
piece of program, test or agent text goes through :func:`html.escape`; nothing a user or an agent
wrote is ever interpreted as markup.  Element classes start with ``tf-`` (styled by :data:`CSS`)
and carry ``data-`` attributes that the browser tests read.
"""

from __future__ import annotations

import html
from typing import Optional, Sequence

from pygments.lexers import PythonLexer
from pygments.token import Comment, Keyword, Name, Number, Operator, String, Token

from tracefix.core.actions import ACTIONS
from tracefix.models import CodeObservation

_TOKEN_CLASSES = (
    (Comment, "tf-c"),
    (String, "tf-s"),
    (Number, "tf-n"),
    (Keyword, "tf-k"),
    (Name.Builtin, "tf-b"),
    (Name.Function, "tf-f"),
    (Name.Class, "tf-f"),
    (Name.Decorator, "tf-f"),
    (Operator.Word, "tf-k"),
)


def _token_class(ttype: object) -> Optional[str]:
    for parent, css in _TOKEN_CLASSES:
        if ttype in parent:  # pygments token types nest: String.Doc in String
            return css
    return None


def highlight_lines(lines: Sequence[str]) -> list[str]:
    """Each source line as escaped HTML with syntax classes (multi-line strings are split per line)."""
    out: list[str] = [""]
    for ttype, value in PythonLexer(stripnl=False, ensurenl=False).get_tokens("\n".join(lines)):
        css = _token_class(ttype) if ttype is not Token.Text else None
        for index, piece in enumerate(value.split("\n")):
            if index:
                out.append("")
            if piece:
                text = html.escape(piece)
                out[-1] += f'<span class="{css}">{text}</span>' if css else text
    while len(out) < len(lines):
        out.append("")
    return out[: len(lines)] if lines else []


def code_html(lines: Sequence[str], edited: Optional[tuple[int, int]] = None, *, empty: str = "") -> str:
    """The numbered program; lines ``edited`` (1-indexed, inclusive) are highlighted."""
    if not lines:
        return f'<div class="tf-code tf-empty">{html.escape(empty or "No program yet.")}</div>'
    first, last = edited if edited else (0, -1)
    rows = []
    for number, source in enumerate(highlight_lines(lines), start=1):
        mark = ' tf-edited" data-edited="true' if first <= number <= last else ""
        rows.append(
            f'<div class="tf-line{mark}" data-line="{number}">'
            f'<span class="tf-ln">{number}</span><span class="tf-src">{source or " "}</span></div>'
        )
    caption = f"lines {first}-{last} written by the last edit" if edited else "no edit yet"
    return (
        f'<div class="tf-code" data-lines="{len(lines)}" data-edited="{first}-{last if edited else 0}">'
        f'<div class="tf-code-caption">{len(lines)} lines · {html.escape(caption)}</div>'
        f'<div class="tf-code-body">{"".join(rows)}</div></div>'
    )


def tests_html(observation: Optional[CodeObservation], note: str = "") -> str:
    """The visible test table of the last test run (or a hint when no run happened yet); ``note`` says when it ran."""
    if observation is None or not observation.test_results:
        total = observation.tests_total if observation is not None else 0
        hint = f"{total} visible tests. Run the tests to see which pass." if total else "Start an episode to see its tests."
        return f'<div class="tf-tests tf-empty" data-passed="" data-total="{total}">{html.escape(hint)}</div>'
    results = observation.test_results
    passed = observation.tests_passed if observation.tests_passed is not None else sum(r.passed for r in results)
    total = observation.tests_total or len(results)
    rows = []
    for result in results:
        badge = '<span class="tf-badge tf-pass">PASS</span>' if result.passed else '<span class="tf-badge tf-fail">FAIL</span>'
        message = f'<pre class="tf-msg">{html.escape(result.message.strip())}</pre>' if result.message.strip() else ""
        rows.append(
            f'<tr data-test="{html.escape(result.name)}" data-passed="{str(result.passed).lower()}">'
            f'<td><span class="tf-test-name">{html.escape(result.name)}</span>{message}</td><td>{badge}</td></tr>'
        )
    hidden = ""
    if observation.hidden_total is not None:
        hidden = f' · hidden {observation.hidden_passed}/{observation.hidden_total}'
    when = f' <span class="tf-muted">({html.escape(note)})</span>' if note else ""
    head = f'<div class="tf-tests-head">visible tests: <b>{passed}/{total}</b> pass{hidden}{when}</div>'
    output = ""
    if observation.output.strip():
        output = f'<details class="tf-output"><summary>program output (tail)</summary><pre>{html.escape(observation.output)}</pre></details>'
    return (
        f'<div class="tf-tests" data-passed="{passed}" data-total="{total}">{head}'
        f'<table><thead><tr><th>test</th><th>result</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f"{output}</div>"
    )


def reward_plot_svg(rewards: Sequence[float], *, current: Optional[int] = None, width: int = 420, height: int = 132) -> str:
    """Bars for the step rewards (green above zero, red below) and a line for the running return.

    ``current`` (1-based) marks one step, for the trajectory viewer.
    """
    if not rewards:
        return '<div class="tf-plot tf-empty" data-steps="0">The reward of each step will be plotted here.</div>'
    running, total = [], 0.0
    for reward in rewards:
        total += reward
        running.append(total)
    top = max(0.05, max(rewards), max(running))
    bottom = min(-0.05, min(rewards), min(running))
    left, right, pad_top, pad_bottom = 34, 8, 10, 18
    plot_w, plot_h = width - left - right, height - pad_top - pad_bottom

    def y(value: float) -> float:
        return pad_top + (top - value) / (top - bottom) * plot_h

    slot = plot_w / len(rewards)
    bar_w = max(1.5, min(22.0, slot * 0.7))
    parts = [
        f'<svg class="tf-plot-svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="rewards of {len(rewards)} steps">',
        f'<line class="tf-axis" x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>',
        f'<text class="tf-tick" x="{left - 4}" y="{y(top) + 4:.1f}" text-anchor="end">{top:+.2f}</text>',
        f'<text class="tf-tick" x="{left - 4}" y="{y(bottom):.1f}" text-anchor="end">{bottom:+.2f}</text>',
    ]
    if min(y(0) - y(top), y(bottom) - y(0)) > 14:
        parts.append(f'<text class="tf-tick" x="{left - 4}" y="{y(0) + 3:.1f}" text-anchor="end">0</text>')
    if current is not None and 1 <= current <= len(rewards):
        cx = left + (current - 0.5) * slot
        parts.append(f'<rect class="tf-current" x="{cx - slot / 2:.1f}" y="{pad_top}" width="{slot:.1f}" height="{plot_h}"/>')
    for index, reward in enumerate(rewards):
        x = left + index * slot + (slot - bar_w) / 2
        y0, y1 = sorted((y(0), y(reward)))
        kind = "tf-up" if reward > 0 else ("tf-down" if reward < 0 else "tf-zero")
        parts.append(
            f'<rect class="tf-bar {kind}" data-step="{index + 1}" data-reward="{reward:.6f}" x="{x:.1f}" y="{y0:.1f}" '
            f'width="{bar_w:.1f}" height="{max(1.0, y1 - y0):.1f}"><title>step {index + 1}: {reward:+.3f}</title></rect>'
        )
    points = " ".join(f"{left + (i + 0.5) * slot:.1f},{y(v):.1f}" for i, v in enumerate(running))
    parts.append(f'<polyline class="tf-return" points="{points}"/>')
    parts.append(f'<text class="tf-tick" x="{left}" y="{height - 4}">step 1</text>')
    parts.append(f'<text class="tf-tick" x="{width - right}" y="{height - 4}" text-anchor="end">step {len(rewards)}</text>')
    parts.append("</svg>")
    legend = (
        '<div class="tf-legend"><span class="tf-key tf-up"></span>reward '
        f'<span class="tf-key tf-line"></span>return <b>{running[-1]:+.2f}</b></div>'
    )
    return f'<div class="tf-plot" data-steps="{len(rewards)}" data-return="{running[-1]:.6f}">{"".join(parts)}{legend}</div>'


def status_html(observation: Optional[CodeObservation], *, max_steps: Optional[int] = None) -> str:
    """The banner above the code: the last action's outcome while playing, the verdict at the end."""
    if observation is None:
        return '<div class="tf-status tf-idle" data-state="idle">Choose a task and start an episode.</div>'
    budget = max_steps or (observation.steps_used + observation.steps_remaining)
    error = f'<div class="tf-status-error">{html.escape(observation.error)}</div>' if observation.error else ""
    message = html.escape(observation.message)
    if observation.done:
        solved = bool(observation.success)
        verdict = "Solved" if solved else "Not solved"
        hidden = ""
        if observation.hidden_total is not None:
            hidden = f" · hidden tests {observation.hidden_passed}/{observation.hidden_total}"
        return (
            f'<div class="tf-status tf-result {"tf-success" if solved else "tf-failure"}" data-state="done" '
            f'data-success="{str(solved).lower()}" data-score="{observation.score or 0:.6f}">'
            f'<div class="tf-verdict">{verdict} · score <b>{observation.score or 0:.2f}</b></div>'
            f'<div class="tf-status-detail">{observation.steps_used} steps{hidden}. {message}</div>{error}</div>'
        )
    return (
        f'<div class="tf-status tf-playing" data-state="playing" data-step="{observation.steps_used}">'
        f'<div class="tf-status-line"><span class="tf-pill">step {observation.steps_used}/{budget}</span>'
        f'<span class="tf-pill tf-pill-muted">{html.escape(observation.last_action or "RESET")}</span>'
        f'<span class="tf-status-msg">{message}</span></div>{error}</div>'
    )


def log_html(entries: Sequence[tuple[str, float, str, Optional[str]]]) -> str:
    """The episode so far: (action, reward, message, error) per step."""
    if not entries:
        return '<div class="tf-log tf-empty" data-steps="0">No step yet.</div>'
    rows = []
    for number, (action, reward, message, error) in enumerate(entries, start=1):
        kind = "tf-up" if reward > 0 else ("tf-down" if reward < 0 else "")
        note = html.escape(error) if error else html.escape(message)
        rows.append(
            f'<tr><td class="tf-num">{number}</td><td><code>{html.escape(action)}</code></td>'
            f'<td class="tf-num {kind}">{reward:+.2f}</td><td class="{"tf-err" if error else ""}">{note}</td></tr>'
        )
    return f'<div class="tf-log" data-steps="{len(entries)}"><table><tbody>{"".join(reversed(rows))}</tbody></table></div>'


def description_html(observation: Optional[CodeObservation], title: str = "") -> str:
    if observation is None:
        return ""
    name = f'<span class="tf-task-id">{html.escape(observation.task_id)}</span>'
    difficulty = f'<span class="tf-pill tf-{html.escape(observation.difficulty)}">{html.escape(observation.difficulty)}</span>'
    heading = f'<div class="tf-task-title">{html.escape(title)}</div>' if title else ""
    return (
        f'<div class="tf-description" data-task="{html.escape(observation.task_id)}">'
        f'<div class="tf-task-head">{name}{difficulty}</div>{heading}'
        f'<p>{html.escape(observation.description.strip())}</p></div>'
    )


def diff_html(diff: str) -> str:
    """A unified diff, coloured per line."""
    if not diff:
        return '<div class="tf-diff tf-empty">This step did not change the program.</div>'
    rows = []
    for line in diff.splitlines():
        kind = ""
        if line.startswith(("+++", "---")):
            kind = "tf-diff-file"
        elif line.startswith("@@"):
            kind = "tf-diff-hunk"
        elif line.startswith("+"):
            kind = "tf-diff-add"
        elif line.startswith("-"):
            kind = "tf-diff-del"
        rows.append(f'<div class="{kind}">{html.escape(line) or " "}</div>')
    return f'<div class="tf-diff">{"".join(rows)}</div>'


def actions_legend_html() -> str:
    """What each button does, from the one table of actions."""
    items = "".join(
        f'<li><code>{html.escape(spec.tool)}</code> {html.escape(spec.summary)}</li>' for spec in ACTIONS
    )
    return f'<ul class="tf-legend-list">{items}</ul>'


def header_html(title: str, subtitle: str) -> str:
    return (
        '<div class="tf-header"><span class="tf-eyebrow">tracefix_rl · debug broken Python</span>'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></div>"
    )


CSS = """
.tf-header { padding: 18px 0 6px; }
.tf-header h1 { margin: 4px 0 2px; font-size: 30px; font-weight: 700; letter-spacing: -.02em; }
.tf-header p { margin: 0; color: var(--body-text-color-subdued); font-size: 15px; }
.tf-eyebrow { font-family: var(--font-mono); font-size: 12px; color: var(--color-accent); }
.tf-card { border: 1px solid var(--border-color-primary) !important; border-radius: 12px !important; padding: 14px 16px !important; gap: 10px !important; }
.tf-card h3 { margin: 0 0 4px; font-size: 14px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--body-text-color-subdued); }
.tf-code { font-family: var(--font-mono); font-size: 13px; line-height: 1.55; border: 1px solid var(--border-color-primary); border-radius: 10px; overflow: hidden; background: #fbfbfc; }
.tf-code-caption { font-size: 11.5px; color: var(--body-text-color-subdued); padding: 6px 12px; border-bottom: 1px solid var(--border-color-primary); background: #f6f7f8; }
.tf-code-body { overflow-x: auto; padding: 6px 0; }
.tf-line { display: flex; white-space: pre; }
.tf-ln { flex: none; width: 3.2em; padding-right: 12px; text-align: right; color: #a1a1aa; user-select: none; }
.tf-src { flex: 1; padding-right: 12px; }
.tf-edited { background: #fff6d6; box-shadow: inset 3px 0 0 #e3a008; }
.tf-edited .tf-ln { color: #b45309; font-weight: 600; }
.tf-k { color: #7c3aed; } .tf-s { color: #0f7b3f; } .tf-n { color: #b45309; } .tf-c { color: #8b949e; font-style: italic; }
.tf-b { color: #0e7490; } .tf-f { color: #1d4ed8; }
.tf-empty { color: var(--body-text-color-subdued); font-size: 14px; padding: 10px 2px; }
.tf-tests table, .tf-log table { width: 100%; border-collapse: collapse !important; font-size: 13px; margin: 0 !important; border: none !important; }
.tf-tests tr, .tf-log tr { border: none !important; background: none !important; }
.tf-tests th, .tf-tests td, .tf-log td { border: none !important; border-bottom: 1px solid var(--border-color-primary) !important; background: none !important; }
.tf-tests th { text-align: left; font-weight: 600; color: var(--body-text-color-subdued); font-size: 12px; padding: 4px 6px !important; }
.tf-tests td { padding: 6px !important; vertical-align: top; }
.tf-tests td:nth-child(2), .tf-tests th:nth-child(2) { width: 60px; text-align: right; }
.tf-tests-head { font-size: 13.5px; margin-bottom: 6px; }
.tf-test-name { font-family: var(--font-mono); white-space: nowrap; }
.tf-msg { margin: 4px 0 0; white-space: pre-wrap; word-break: break-word; font-family: var(--font-mono); font-size: 12px; color: #57606a; max-height: 160px; overflow: auto; }
.tf-badge { font-family: var(--font-mono); font-size: 11px; font-weight: 700; padding: 2px 7px; border-radius: 999px; }
.tf-pass { background: #dcfce7; color: #166534; } .tf-fail { background: #fee2e2; color: #b91c1c; }
.tf-output pre { font-size: 12px; white-space: pre-wrap; max-height: 160px; overflow: auto; }
.tf-status { border-radius: 10px; padding: 10px 14px; font-size: 14px; border: 1px solid var(--border-color-primary); }
.tf-status-line { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.tf-status-error { color: #b42318; margin-top: 4px; font-size: 13px; white-space: pre-wrap; }
.tf-pill { font-family: var(--font-mono); font-size: 12px; padding: 2px 8px; border-radius: 999px; background: #0a0a0a; color: #fff !important; white-space: nowrap; }
.tf-pill-muted { background: #f4f4f5; color: #3f3f46 !important; }
.tf-pill-up { background: #dcfce7; color: #166534 !important; } .tf-pill-down { background: #fee2e2; color: #991b1b !important; }
.tf-pill.tf-easy { background: #dcfce7; color: #166534 !important; } .tf-pill.tf-medium { background: #fef3c7; color: #92400e !important; } .tf-pill.tf-hard { background: #fee2e2; color: #991b1b !important; }
.tf-result.tf-success { background: #ecfdf3; border-color: #86efac; }
.tf-result.tf-failure { background: #fff7ed; border-color: #fdba74; }
.tf-verdict { font-size: 20px; font-weight: 700; }
.tf-success .tf-verdict { color: #166534; } .tf-failure .tf-verdict { color: #9a3412; }
.tf-status-detail { color: #3f3f46; margin-top: 2px; }
.tf-plot-svg { display: block; }
.tf-plot .tf-axis { stroke: #d4d4d8; stroke-width: 1; }
.tf-plot .tf-tick { font-family: var(--font-mono); font-size: 10px; fill: #71717a; }
.tf-bar.tf-up { fill: #22c55e; } .tf-bar.tf-down { fill: #ef4444; } .tf-bar.tf-zero { fill: #a1a1aa; }
.tf-plot .tf-return { fill: none; stroke: #0a0a0a; stroke-width: 1.6; }
.tf-plot .tf-current { fill: #fde68a; opacity: .6; }
.tf-legend { font-size: 12px; color: var(--body-text-color-subdued); display: flex; gap: 6px; align-items: center; }
.tf-key { display: inline-block; width: 10px; height: 10px; border-radius: 2px; background: #22c55e; margin-left: 6px; }
.tf-key.tf-line { height: 2px; background: #0a0a0a; }
.tf-log { max-height: 300px; overflow: auto; }
.tf-log table { table-layout: fixed; }
.tf-log td { padding: 4px 6px !important; vertical-align: top; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tf-log td:nth-child(1) { width: 28px; } .tf-log td:nth-child(2) { width: 170px; } .tf-log td:nth-child(3) { width: 56px; }
.tf-log code { font-size: 12px; }
.tf-num { font-family: var(--font-mono); text-align: right; white-space: nowrap; }
td.tf-up { color: #15803d; } td.tf-down { color: #b91c1c; }
.tf-err { color: #b42318; }
.tf-description p { margin: 6px 0 0; font-size: 14px; line-height: 1.5; }
.tf-task-head { display: flex; gap: 8px; align-items: center; }
.tf-task-id { font-family: var(--font-mono); font-weight: 600; font-size: 14px; }
.tf-task-title { font-weight: 600; margin-top: 4px; }
.tf-diff { font-family: var(--font-mono); font-size: 12.5px; white-space: pre; border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 6px 0; overflow: auto; }
.tf-diff div { padding: 0 12px; }
.tf-diff-add { background: #e6ffec; color: #116329; } .tf-diff-del { background: #ffebe9; color: #82071e; }
.tf-diff-hunk { color: #6e7781; background: #f6f8fa; } .tf-diff-file { color: #6e7781; }
.tf-legend-list { margin: 4px 0 0; padding-left: 0; list-style: none; font-size: 12.5px; color: var(--body-text-color-subdued); }
.tf-legend-list li { margin: 2px 0; } .tf-legend-list code { color: #0a0a0a; margin-right: 4px; }
.tf-facts + .tf-description { margin-top: 12px; padding-top: 10px; border-top: 1px solid var(--border-color-primary); }
.tf-facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 13px; }
.tf-facts span { color: var(--body-text-color-subdued); }
.tf-action-json { font-family: var(--font-mono); font-size: 12.5px; white-space: pre-wrap; word-break: break-word; background: #f6f7f8; border-radius: 8px; padding: 8px 10px; margin: 0; }
.tf-muted { color: var(--body-text-color-subdued); font-size: 12.5px; }
.tf-notice { background: #fef2f2; border: 1px solid #fecaca; color: #991b1b; border-radius: 10px; padding: 8px 12px; margin-bottom: 6px; font-size: 13.5px; }
.tf-edit-title { font-size: 13.5px; margin-top: 6px; }
.tf-position { font-family: var(--font-mono); font-size: 13px; }
#tf-actions button { font-family: var(--font-mono); }
.gradio-container { max-width: 1360px !important; }
.tf-bottom { align-items: flex-end !important; }
.tf-arg-doc { font-size: 12px; color: var(--body-text-color-subdued); margin: 2px 0 -4px; }
"""


__all__ = [
    "CSS",
    "actions_legend_html",
    "code_html",
    "description_html",
    "diff_html",
    "header_html",
    "highlight_lines",
    "log_html",
    "reward_plot_svg",
    "status_html",
    "tests_html",
]

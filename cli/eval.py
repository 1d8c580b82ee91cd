"""``tracefix eval``: run agents over a split, write per-episode JSONL, print a summary by difficulty.

Example (the README's baseline table)::

    tracefix eval --agent random,search,oracle --split curated --episodes-per-task 1 --workers 2 \\
        --out results/eval.jsonl --plot results/eval.png --markdown results/eval.md

Every episode runs on its own WebSocket session against ``--url`` or an embedded server on
127.0.0.1, with a fresh agent, exactly as ``tracefix play`` and ``inference.py`` run them.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import typer

from tracefix.core.constants import DIFFICULTIES

SUMMARY_COLUMNS = ("agent", "difficulty", "episodes", "success rate", "mean score", "mean return", "mean steps")


@dataclass(frozen=True)
class Job:
    agent: str
    task_id: str
    difficulty: str
    split: str
    episode: int
    seed: int


def plan_jobs(
    base_url: str, agents: Sequence[str], split: str, episodes_per_task: int, seed: int,
    difficulty: Optional[str] = None, limit: Optional[int] = None,
) -> list[Job]:
    from tracefix.client import list_splits, list_tasks

    splits = [s["name"] for s in list_splits(base_url)] if split == "all" else [split]
    tasks: list[tuple[str, dict[str, Any]]] = []
    for name in splits:
        tasks += [(name, t) for t in list_tasks(base_url, name)]
    if difficulty:
        tasks = [(s, t) for s, t in tasks if t.get("difficulty") == difficulty]
    if limit is not None:
        tasks = tasks[:limit]
    jobs = []
    for agent in agents:
        for split_name, task in tasks:
            for episode in range(episodes_per_task):
                jobs.append(Job(agent, task["id"], task.get("difficulty", ""), split_name, episode, seed + episode))
    return jobs


def run_job(
    job: Job, base_url: str, max_steps: Optional[int] = None, env_timeout_s: float = 120.0,
    record_dir: Optional[Path] = None,
) -> dict[str, Any]:
    """Play one episode with a fresh agent; never raises (an exception becomes the record's ``error``).

    With ``record_dir`` the episode is recorded there and the row's ``trajectory`` names its file.
    """
    from tracefix.agents import make_agent
    from tracefix.agents.episode import ClientSession, StepRecord, play_episode
    from tracefix.client import TraceFixEnv
    from tracefix.trajectory import RecordingSession

    records: list[StepRecord] = []
    started = time.perf_counter()
    error: Optional[str] = None
    result = None
    last_observation = None
    session: Any = None
    try:
        agent = make_agent(job.agent, **({"seed": job.seed} if job.agent == "random" else {}))
        reset_kwargs: dict[str, Any] = {"task_id": job.task_id, "seed": job.seed}
        if max_steps is not None:
            reset_kwargs["max_steps"] = max_steps
        with TraceFixEnv(base_url=base_url, message_timeout_s=env_timeout_s).sync() as client:
            session = RecordingSession.wrap(ClientSession(client), record_dir, source="eval", agent=agent)
            result = play_episode(session, agent, reset_kwargs, on_step=records.append)
    except Exception as exc:  # noqa: BLE001 - recorded
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]
    trajectory = session.close(error) if isinstance(session, RecordingSession) else None
    if records:
        last_observation = records[-1].observation
    step_errors = [r.error for r in records if r.error]
    rewards = [round(r.reward, 6) for r in records]
    done = bool(last_observation is not None and last_observation.done)
    score = float(last_observation.score or 0.0) if done and last_observation is not None else 0.0
    return {
        "task": job.task_id,
        "split": job.split,
        "difficulty": job.difficulty,
        "agent": job.agent,
        "episode": job.episode,
        "seed": job.seed,
        "steps": len(records),
        "rewards": rewards,
        "return": round(sum(rewards), 6),
        "score": round(score, 6),
        "success": bool(result.success) if result is not None else bool(done and last_observation and last_observation.success),
        "done": done,
        "error": error or (" ".join(step_errors[-1].split())[:300] if step_errors else None),
        "step_errors": len(step_errors),
        "wall_s": round(time.perf_counter() - started, 3),
        **({"trajectory": str(trajectory) if trajectory else None} if record_dir is not None else {}),
    }


def summarise(rows: Iterable[dict[str, Any]], agents: Sequence[str]) -> list[dict[str, Any]]:
    """One row per agent × difficulty (in curriculum order) plus an ``all`` row per agent."""
    rows = list(rows)
    table = []
    for agent in agents:
        mine = [r for r in rows if r["agent"] == agent]
        groups = [(d, [r for r in mine if r["difficulty"] == d]) for d in DIFFICULTIES]
        extra = sorted({r["difficulty"] for r in mine} - set(DIFFICULTIES))
        groups += [(d, [r for r in mine if r["difficulty"] == d]) for d in extra]
        groups.append(("all", mine))
        for difficulty, group in groups:
            if not group:
                continue
            n = len(group)
            table.append({
                "agent": agent,
                "difficulty": difficulty,
                "episodes": n,
                "success rate": sum(r["success"] for r in group) / n,
                "mean score": sum(r["score"] for r in group) / n,
                "mean return": sum(r["return"] for r in group) / n,
                "mean steps": sum(r["steps"] for r in group) / n,
            })
    return table


def _cell(column: str, value: Any) -> str:
    if column == "success rate":
        return f"{100 * value:.0f}%"
    if column in ("mean score", "mean return"):
        return f"{value:+.2f}" if column == "mean return" else f"{value:.2f}"
    if column == "mean steps":
        return f"{value:.1f}"
    return str(value)


def markdown_table(summary: Sequence[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(SUMMARY_COLUMNS) + " |", "|" + "|".join("---" if c in ("agent", "difficulty") else "---:" for c in SUMMARY_COLUMNS) + "|"]
    for row in summary:
        cells = [_cell(c, row[c]) for c in SUMMARY_COLUMNS]
        if row["difficulty"] == "all":
            cells = [f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_summary(summary: Sequence[dict[str, Any]], agents: Sequence[str], path: Path) -> None:
    """Mean score and success rate by difficulty, one bar per agent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [d for d in [*DIFFICULTIES, "all"] if any(r["difficulty"] == d for r in summary)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / max(1, len(agents))
    for panel, (metric, title) in zip(axes, (("mean score", "Mean score"), ("success rate", "Success rate"))):
        for i, agent in enumerate(agents):
            values = [next((r[metric] for r in summary if r["agent"] == agent and r["difficulty"] == g), 0.0) for g in groups]
            positions = [x + (i - (len(agents) - 1) / 2) * width for x in range(len(groups))]
            bars = panel.bar(positions, values, width, label=agent)
            panel.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=1)
        panel.set_xticks(range(len(groups)), groups)
        panel.set_ylim(0, 1.1)
        panel.set_title(title)
        panel.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=max(1, len(agents)), fontsize=9, frameon=False)
    fig.suptitle("TraceFix baselines by difficulty")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def run_jobs(
    jobs: Sequence[Job], base_url: str, workers: int, on_done: Callable[[dict[str, Any]], None],
    max_steps: Optional[int] = None, record_dir: Optional[Path] = None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="tracefix-eval") as pool:
        futures = [pool.submit(run_job, job, base_url, max_steps, record_dir=record_dir) for job in jobs]
        for future in as_completed(futures):
            row = future.result()
            with lock:
                rows.append(row)
                on_done(row)
    order = {(j.agent, j.task_id, j.episode): i for i, j in enumerate(jobs)}
    rows.sort(key=lambda r: order.get((r["agent"], r["task"], r["episode"]), 0))
    return rows


class ResultsFileError(ValueError):
    """``--out`` names a file that must not be written (it holds earlier results, or is a directory)."""


def prepare_results_file(out: Path, force: bool) -> None:
    """Refuse to overwrite earlier results unless ``force``; create the parent directory.

    All decisions about the results file live here (called once, before any episode runs).
    """
    if out.is_dir():
        raise ResultsFileError(f"--out {out} is a directory; give a file name such as {out / 'eval.jsonl'}")
    if out.exists() and out.stat().st_size > 0 and not force:
        raise ResultsFileError(f"{out} already holds results; pass --force to overwrite it, or choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)


def eval_command(
    agent: str = typer.Option("search", "--agent", help="Agent(s), comma-separated: search, random, oracle (privileged), llm."),
    split: str = typer.Option("curated", help="Split to evaluate ('all' for every split the server has)."),
    episodes_per_task: int = typer.Option(1, min=1, help="Episodes per task and agent (seeds seed, seed+1, ...)."),
    workers: int = typer.Option(1, min=1, help="Episodes run in parallel (each on its own session)."),
    seed: int = typer.Option(0, help="Seed of each task's first episode."),
    difficulty: Optional[str] = typer.Option(None, help="Only tasks of this difficulty."),
    limit: Optional[int] = typer.Option(None, min=1, help="Only the first N tasks of the selection."),
    max_steps: Optional[int] = typer.Option(None, min=1, help="Step budget per episode (default: the environment's, 50)."),
    url: Optional[str] = typer.Option(None, help="Server URL; default: start an embedded server on 127.0.0.1."),
    out: Path = typer.Option(Path("results/eval.jsonl"), help="Per-episode results (JSON Lines); an existing file is kept unless --force."),
    force: bool = typer.Option(False, "--force", help="Overwrite the --out file if it already holds results."),
    plot: Optional[Path] = typer.Option(None, help="Also save a bar chart (PNG) of score and success by difficulty."),
    markdown: Optional[Path] = typer.Option(None, help="Also save the summary table as Markdown (for the README)."),
    record: Optional[Path] = typer.Option(None, "--record", help="Record every episode as a trajectory file in this directory (each result line names its file)."),
) -> None:
    """Evaluate agents on a split: progress bar, JSONL per episode, summary by difficulty."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from rich.text import Text

    from tracefix.agents import agent_names
    from tracefix.cli.main import api_key_problem, fail

    console = Console()
    agents = [a.strip() for a in agent.split(",") if a.strip()]
    unknown = [a for a in agents if a not in agent_names()]
    if not agents or unknown:
        raise fail(f"unknown agent(s) {', '.join(unknown) or '(none)'}; available: {', '.join(agent_names())}")
    if difficulty is not None and difficulty not in DIFFICULTIES:
        raise fail(f"difficulty must be one of {', '.join(DIFFICULTIES)}")
    problem = api_key_problem(agents)
    if problem:
        raise fail(problem)
    try:
        prepare_results_file(out, force)
    except (ResultsFileError, OSError) as exc:
        raise fail(str(exc))

    def evaluate(base_url: str) -> list[dict[str, Any]]:
        try:
            jobs = plan_jobs(base_url, agents, split, episodes_per_task, seed, difficulty, limit)
        except Exception as exc:  # noqa: BLE001
            raise fail(f"could not list tasks: {exc}")
        if not jobs:
            raise fail("no task matches the selection")
        with out.open("w", encoding="utf-8") as sink, Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"), console=Console(stderr=True), transient=False,
        ) as progress:
            bar = progress.add_task(escape(f"eval {','.join(agents)} on {split}"), total=len(jobs), last="")

            def done(row: dict[str, Any]) -> None:
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                mark = "[green]solved[/]" if row["success"] else ("[red]error[/]" if row["error"] and not row["done"] else "[yellow]unsolved[/]")
                # the progress column reads markup: escape what comes from the server
                progress.update(bar, advance=1, last=f"{escape(row['agent'])} {escape(row['task'])} {mark} {row['score']:.2f}")

            return run_jobs(jobs, base_url, workers, done, max_steps, record_dir=record)

    started = time.perf_counter()
    if url:
        rows = evaluate(url)
    else:
        from tracefix.server.embedded import embedded_server

        with embedded_server() as base_url:
            rows = evaluate(base_url)
    # rewrite in a stable order (the progress-time file was in completion order)
    with out.open("w", encoding="utf-8") as sink:
        for row in rows:
            sink.write(json.dumps(row) + "\n")
    summary = summarise(rows, agents)
    table = Table(title=Text(f"TraceFix eval: {split}, {episodes_per_task} episode(s) per task ({time.perf_counter() - started:.0f} s)"))
    for column in SUMMARY_COLUMNS:
        table.add_column(column, justify="left" if column in ("agent", "difficulty") else "right")
    for i, row in enumerate(summary):
        style = "bold" if row["difficulty"] == "all" else None
        table.add_row(*[Text(_cell(c, row[c])) for c in SUMMARY_COLUMNS], style=style,
                      end_section=row["difficulty"] == "all" and i < len(summary) - 1)
    console.print(table)
    console.print(Text(f"results: {out}"), soft_wrap=True)
    if record is not None:
        console.print(Text(f"trajectories: {record} (check them with `tracefix replay {record}`)"), soft_wrap=True)
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(markdown_table(summary), encoding="utf-8")
        console.print(Text(f"markdown: {markdown}"), soft_wrap=True)
    if plot is not None:
        plot_summary(summary, agents, plot)
        console.print(Text(f"plot: {plot}"), soft_wrap=True)
    if "oracle" in agents:
        console.print(Text("note: oracle is privileged (it replays the reference fix); it validates tasks, it is not a baseline.", "dim"))
    crashed = [r for r in rows if r["error"] and not r["done"]]
    if crashed:
        console.print(Text(f"{len(crashed)} episode(s) ended with an error before done (see 'error' in {out})", "yellow"), soft_wrap=True)


__all__ = ["eval_command", "markdown_table", "plot_summary", "prepare_results_file", "run_job", "summarise"]

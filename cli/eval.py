"""``tracefix eval``: run agents over a split, write per-episode JSONL, print a summary by difficulty.

Example (the README's baseline table)::

    tracefix eval --agent random,search,oracle --split curated --episodes-per-task 1 --workers 2 \\
        --out results/eval.jsonl --plot results/eval.png --markdown results/eval.md

Every episode runs on its own WebSocket session against ``--url`` or an embedded server on
127.0.0.1, with a fresh agent, exactly as ``tracefix play`` and ``inference.py`` run them.

* ``--url`` takes several servers (``--url http://a:7860,http://b:7860``, or ``TRACEFIX_URLS``):
  episodes are spread over them, and an episode whose server dies moves to another one
  (:mod:`tracefix.failover`).
* Each finished episode is appended to ``--out`` and fsync'd before the next is reported;
  ``--resume`` finishes an interrupted run (Ctrl-C, ``kill -9``, a reboot, a dead server) without
  losing or repeating an episode (:mod:`tracefix.cli.results_file`).
* ``--ray [ADDRESS]`` runs the episodes across Ray actors, each with its own embedded server and
  sandbox pool (:mod:`tracefix.cli.eval_ray`).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence, Union

import typer
from typer.core import TyperCommand

from tracefix.cli.results_file import ResultsFile, ResultsFileError, prepare_results_file, row_key
from tracefix.core.constants import DIFFICULTIES

if TYPE_CHECKING:
    from tracefix.failover import ServerSet

SUMMARY_COLUMNS = ("agent", "difficulty", "episodes", "success rate", "mean score", "mean return", "mean steps")


@dataclass(frozen=True)
class Job:
    agent: str
    task_id: str
    difficulty: str
    split: str
    episode: int
    seed: int


    @property
    def key(self) -> tuple:
        return (self.agent, self.split, self.task_id, self.episode, self.seed)


def _local_catalog() -> tuple[list[str], Any]:
    """The splits and task lists an embedded server would serve (used when no server runs here)."""
    from tracefix.tasks.registry import default_registry

    registry = default_registry()

    def tasks(split: str) -> list[dict[str, Any]]:
        if split not in registry.split_names():
            raise ValueError(f"unknown split {split!r}; available: {', '.join(registry.split_names())}")
        return [{"id": t.id, "difficulty": t.difficulty} for t in registry.tasks(split)]

    return registry.split_names(), tasks


def plan_jobs(
    base_url: Optional[str], agents: Sequence[str], split: str, episodes_per_task: int, seed: int,
    difficulty: Optional[str] = None, limit: Optional[int] = None,
) -> list[Job]:
    """Every episode of the run, in a fixed order (``base_url`` None: the built-in tasks)."""
    from tracefix.client import list_splits, list_tasks

    if base_url is None:
        split_names, task_list = _local_catalog()
    else:
        split_names = [s["name"] for s in list_splits(base_url)] if split == "all" else []
        task_list = lambda name: list_tasks(base_url, name)  # noqa: E731
    splits = split_names if split == "all" else [split]
    tasks: list[tuple[str, dict[str, Any]]] = []
    for name in splits:
        tasks += [(name, t) for t in task_list(name)]
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
    job: Job, servers: "Union[str, ServerSet]", max_steps: Optional[int] = None, env_timeout_s: float = 120.0,
    record_dir: Optional[Path] = None,
) -> dict[str, Any]:
    """Play one episode with a fresh agent; never raises (an exception becomes the record's ``error``).

    ``servers``: a URL or a :class:`~tracefix.failover.ServerSet` (the episode moves to another of
    its servers if its own dies).  With ``record_dir`` the episode is recorded there and the row's
    ``trajectory`` names its file.
    """
    from tracefix.agents import make_agent
    from tracefix.agents.episode import StepRecord, play_episode
    from tracefix.failover import FailoverSession, ServerSet
    from tracefix.trajectory import RecordingSession

    records: list[StepRecord] = []
    started = time.perf_counter()
    error: Optional[str] = None
    result = None
    last_observation = None
    session: Any = None
    remote: Optional[FailoverSession] = None
    try:
        agent = make_agent(job.agent, **({"seed": job.seed} if job.agent == "random" else {}))
        reset_kwargs: dict[str, Any] = {"task_id": job.task_id, "seed": job.seed}
        if max_steps is not None:
            reset_kwargs["max_steps"] = max_steps
        remote = FailoverSession(servers if isinstance(servers, ServerSet) else ServerSet(servers),
                                 message_timeout_s=env_timeout_s)
        session = RecordingSession.wrap(remote, record_dir, source="eval", agent=agent)
        result = play_episode(session, agent, reset_kwargs, on_step=records.append)
    except Exception as exc:  # noqa: BLE001 - recorded
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]
    finally:
        if remote is not None:
            remote.close()
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


def local_rows(
    jobs: Sequence[Job], servers: "ServerSet", workers: int, max_steps: Optional[int] = None,
    record_dir: Optional[Path] = None,
) -> Iterator[dict[str, Any]]:
    """Run ``jobs`` on ``workers`` threads; yield each row as its episode finishes.

    The threads are daemons: when the consumer stops (Ctrl-C), the process can exit at once; the
    episodes in flight are simply not reported (``--resume`` runs them again).
    """
    todo: "queue.SimpleQueue[Job]" = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    done: "queue.SimpleQueue[dict[str, Any]]" = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            done.put(run_job(job, servers, max_steps, record_dir=record_dir))

    threads = [threading.Thread(target=work, name=f"tracefix-eval-{i}", daemon=True)
               for i in range(max(1, min(workers, len(jobs))))]
    for thread in threads:
        thread.start()
    try:
        for _ in range(len(jobs)):
            while True:
                try:
                    row = done.get(timeout=0.5)  # a timeout keeps Ctrl-C responsive
                    break
                except queue.Empty:
                    continue
            yield row
    finally:
        stop.set()


def run_jobs(
    jobs: Sequence[Job], base_url: str, workers: int, on_done: Any,
    max_steps: Optional[int] = None, record_dir: Optional[Path] = None,
) -> list[dict[str, Any]]:
    """Run ``jobs`` against ``base_url`` (one URL or several, comma-separated); call ``on_done`` per
    finished episode; return the rows in plan order."""
    from tracefix.failover import ServerSet

    rows = []
    for row in local_rows(jobs, ServerSet(base_url), workers, max_steps, record_dir):
        rows.append(row)
        on_done(row)
    return in_plan_order(rows, jobs)


def in_plan_order(rows: Iterable[dict[str, Any]], jobs: Sequence[Job]) -> list[dict[str, Any]]:
    order = {job.key: i for i, job in enumerate(jobs)}
    return sorted(rows, key=lambda r: order.get(row_key(r), len(order)))


RAY_LOCAL = "local"
"""The value of ``--ray`` given without an address: a local Ray cluster."""


class EvalCommand(TyperCommand):
    """The ``eval`` command, whose ``--ray`` takes an optional value (``--ray`` or ``--ray ADDRESS``).

    Typer has no options with an optional value, so a bare ``--ray`` (last, or followed by another
    option) is given the value ``local`` before parsing.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        fixed: list[str] = []
        for i, arg in enumerate(args):
            fixed.append(arg)
            if arg == "--ray" and (i + 1 == len(args) or args[i + 1].startswith("-")):
                fixed.append(RAY_LOCAL)
        return super().parse_args(ctx, fixed)


def eval_command(
    agent: str = typer.Option("search", "--agent", help="Agent(s), comma-separated: search, random, oracle (privileged), llm."),
    split: str = typer.Option("curated", help="Split to evaluate ('all' for every split the server has)."),
    episodes_per_task: int = typer.Option(1, min=1, help="Episodes per task and agent (seeds seed, seed+1, ...)."),
    workers: int = typer.Option(1, min=1, help="Episodes run in parallel (each on its own session)."),
    seed: int = typer.Option(0, help="Seed of each task's first episode."),
    difficulty: Optional[str] = typer.Option(None, help="Only tasks of this difficulty."),
    limit: Optional[int] = typer.Option(None, min=1, help="Only the first N tasks of the selection."),
    max_steps: Optional[int] = typer.Option(None, min=1, help="Step budget per episode (default: the environment's, 50)."),
    url: Optional[str] = typer.Option(
        None, envvar="TRACEFIX_URLS",
        help="Server URL, or several comma-separated (episodes spread over them; one that dies is failed over); "
             "default: $TRACEFIX_URLS, else an embedded server on 127.0.0.1."),
    out: Path = typer.Option(Path("results/eval.jsonl"), help="Per-episode results (JSON Lines); an existing file is kept unless --force."),
    force: bool = typer.Option(False, "--force", help="Overwrite the --out file if it already holds results."),
    resume: bool = typer.Option(False, "--resume", help="Finish the interrupted run recorded in --out (same options): only missing episodes run."),
    ray: Optional[str] = typer.Option(
        None, "--ray", metavar="[ADDRESS]",
        help="Run the episodes across Ray actors (needs the `ray` extra). Alone: a local Ray cluster on this "
             "machine; with an ADDRESS (auto, ray://host:10001, host:6379): that cluster."),
    actors: Optional[int] = typer.Option(None, min=1, help="With --ray: number of actors (default: one per CPU of the cluster)."),
    actor_pool_size: int = typer.Option(1, min=1, help="With --ray: sandbox workers (and CPUs reserved) per actor."),
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
    if resume and force:
        raise fail("--resume continues the run in --out and --force overwrites it: give one of them")
    if ray is not None and url:
        raise fail("--ray runs the episodes on Ray actors with servers of their own: leave out --url (and TRACEFIX_URLS)")
    try:
        prepare_results_file(out, force=force or resume)
    except (ResultsFileError, OSError) as exc:
        raise fail(str(exc))

    def evaluate(base_url: Optional[str]) -> list[dict[str, Any]]:
        from tracefix.failover import ServerSet, parse_urls

        try:
            jobs = plan_jobs(parse_urls(base_url)[0] if base_url else None, agents, split,
                             episodes_per_task, seed, difficulty, limit)
        except Exception as exc:  # noqa: BLE001
            raise fail(f"could not list tasks: {exc}")
        if not jobs:
            raise fail("no task matches the selection")
        try:
            results, rows = open_results(out, jobs, resume, force, console)
        except (ResultsFileError, OSError) as exc:
            raise fail(str(exc))
        finished = {row_key(r) for r in rows}
        remaining = [job for job in jobs if job.key not in finished]
        if ray is not None:
            from tracefix.cli.eval_ray import RayUnavailable, ray_rows

            try:
                stream = ray_rows(remaining, ray, actors, actor_pool_size, workers, max_steps, record)
            except RayUnavailable as exc:
                raise fail(str(exc))
        else:
            assert base_url is not None
            stream = local_rows(remaining, ServerSet(base_url), workers, max_steps, record)
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"), console=Console(stderr=True), transient=False,
        ) as progress:
            bar = progress.add_task(escape(f"eval {','.join(agents)} on {split}"), total=len(jobs),
                                    completed=len(rows), last="")
            try:
                for row in stream:
                    results.append(row)
                    rows.append(row)
                    mark = "[green]solved[/]" if row["success"] else ("[red]error[/]" if row["error"] and not row["done"] else "[yellow]unsolved[/]")
                    # the progress column reads markup: escape what comes from the server
                    progress.update(bar, advance=1, last=f"{escape(row['agent'])} {escape(row['task'])} {mark} {row['score']:.2f}")
            except KeyboardInterrupt:
                results.close()
                progress.stop()
                console.print(Text(f"interrupted: {len(rows)} of {len(jobs)} episodes are saved in {out}; "
                                   "run the same command with --resume to finish", "yellow"), soft_wrap=True)
                raise typer.Exit(130)
        ordered = in_plan_order(rows, jobs)
        results.rewrite(ordered)  # the file was in completion order: rewrite it in plan order (atomically)
        return ordered

    started = time.perf_counter()
    if url or ray is not None:
        rows = evaluate(url)
    else:
        from tracefix.server.embedded import embedded_server

        with embedded_server() as base_url:
            rows = evaluate(base_url)
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
        console.print(Text(f"{len(crashed)} episode(s) ended with an error before done (see 'error' in {out}); "
                           "--resume runs them again", "yellow"), soft_wrap=True)


def open_results(out: Path, jobs: Sequence[Job], resume: bool, force: bool, console: Any) -> tuple[ResultsFile, list[dict[str, Any]]]:
    """The results file for this run and the episodes it already holds (``--resume``)."""
    from rich.text import Text

    if not resume:
        return ResultsFile.start(out, force), []
    results, rows, dropped = ResultsFile.resume(out)
    planned = {job.key for job in jobs}
    foreign = [r for r in rows if row_key(r) not in planned]
    if foreign:
        example = foreign[0]
        raise ResultsFileError(
            f"--resume: {out} holds episodes this run would not play (e.g. agent {example['agent']}, task "
            f"{example['task']}, episode {example['episode']}, seed {example['seed']}); resume with the options of "
            "the interrupted run")
    if rows or dropped:
        console.print(Text(f"resuming {out}: {len(rows)} of {len(jobs)} episodes already done"
                           + (f"; {dropped} unfinished or cut-off line(s) will run again" if dropped else ""), "dim"),
                      soft_wrap=True)
    return results, rows


__all__ = ["EvalCommand", "Job", "eval_command", "in_plan_order", "local_rows", "markdown_table", "plan_jobs", "plot_summary",
           "prepare_results_file", "run_job", "run_jobs", "summarise"]

"""The ``tracefix`` command line: serve, tasks, play (and, from their modules, eval and bench)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

import typer
from rich.table import Table
from rich.text import Text

from tracefix.cli.console import console, err_console, fail, print_warning
from tracefix.core.constants import DEFAULT_HOST, DEFAULT_PORT

if TYPE_CHECKING:
    from tracefix.tasks.schema import Task

app = typer.Typer(
    name="tracefix",
    help="TraceFix: an OpenEnv RL environment in which an agent debugs broken Python programs.",
    no_args_is_help=True,
    add_completion=False,
)
tasks_app = typer.Typer(
    help="List, show, verify, import and generate tasks (the task format: docs/task-format.md).", no_args_is_help=True
)
app.add_typer(tasks_app, name="tasks")


TASK_FORMAT_DOC = "docs/task-format.md"


def api_key_problem(agents: list[str]) -> Optional[str]:
    """The refusal ``inference.py`` prints when the ``llm`` agent is chosen without an API key."""
    if "llm" not in agents:
        return None
    from tracefix.agents.llm import missing_api_key

    return missing_api_key()


# -- serve ------------------------------------------------------------------------------------------
@app.command()
def serve(
    host: str = typer.Option(DEFAULT_HOST, help="Interface to bind."),
    port: int = typer.Option(DEFAULT_PORT, help="Port to listen on."),
    tasks_file: Optional[Path] = typer.Option(None, help="Also serve the tasks of this JSONL file as a split."),
    record: Optional[Path] = typer.Option(None, "--record", help="Record every session's episodes as trajectory files in this directory."),
    web: bool = typer.Option(False, "--web", help="Also serve the web page (play, watch trajectories) at /web."),
) -> None:
    """Serve the environment over HTTP and WebSocket (OpenEnv)."""
    from tracefix.server.app import main as serve_main

    argv = ["--host", host, "--port", str(port)]
    if tasks_file is not None:
        argv += ["--tasks-file", str(tasks_file)]
    if record is not None:
        argv += ["--record", str(record)]
    if web:
        argv.append("--web")
    serve_main(argv)


# -- doctor -----------------------------------------------------------------------------------------
@app.command()
def doctor() -> None:
    """Show which sandbox tiers this host supports and which one runs untrusted code, and why."""
    from tracefix.sandbox import SandboxConfig, SandboxConfigError, resolve_tier
    from tracefix.sandbox.detect import describe

    console.print(describe(), markup=False, highlight=False, soft_wrap=True)
    try:
        choice = resolve_tier(SandboxConfig())
    except SandboxConfigError as exc:
        raise fail(f"invalid sandbox settings: {exc}")
    if choice.refusal:
        raise fail(f"in force: nothing runs: {choice.describe()}")
    console.print(Text(f"in force: {choice.describe()}"), soft_wrap=True)


# -- tasks ------------------------------------------------------------------------------------------
def _registry(tasks_file: Optional[Path] = None):
    """The served tasks, plus ``tasks_file`` as a split of its own (every bad line reported)."""
    from tracefix.corpus.importer import TaskFileRejected, registry_with_file
    from tracefix.tasks.registry import default_registry

    if tasks_file is None:
        return default_registry()
    try:
        return registry_with_file(tasks_file)
    except TaskFileRejected as exc:
        for message in exc.messages:
            err_console.print(Text(message), soft_wrap=True)
        raise fail(f"{tasks_file}: fix the lines above (the task format: {TASK_FORMAT_DOC})")
    except OSError as exc:
        raise fail(f"{tasks_file}: cannot read: {exc}")


def _selected_tasks(registry, split: str):
    from tracefix.tasks.registry import UnknownTaskError

    try:
        if split == "all":
            return registry.all_tasks()
        return registry.tasks(split)
    except UnknownTaskError as exc:
        raise fail(str(exc))


@tasks_app.command("list")
def tasks_list(
    split: str = typer.Option("curated", help="Split to list ('all' for every split)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    tasks_file: Optional[Path] = typer.Option(None, help="Also load the tasks of this JSONL file as a split (named after the file)."),
) -> None:
    """List tasks: id, difficulty, tests (visible + hidden), title, tags."""
    tasks = _selected_tasks(_registry(tasks_file), split)
    if as_json:
        for task in tasks:
            print(json.dumps({"id": task.id, "difficulty": task.difficulty, "title": task.title, "tags": task.tags}))
        return
    console.print(task_table(tasks, f"{len(tasks)} tasks ({split}); tests = visible+hidden", console.width))


def task_table(tasks: Sequence["Task"], title: str, width: int) -> Table:
    """Ids are never shortened: their column does not wrap and is as wide as the longest id.  The
    title wraps into the width left; tags get a column only when at least 40 characters remain
    (``--json`` always has them)."""
    from rich import box

    id_width = max((len(task.id) for task in tasks), default=2)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=id_width)
    table.add_column("difficulty", no_wrap=True)
    table.add_column("tests", no_wrap=True, justify="right")
    table.add_column("title", ratio=3)
    with_tags = width - id_width - len("difficulty") - len("tests") - 4 * 3 >= 40
    if with_tags:
        table.add_column("tags", ratio=2)
    else:
        table.caption = "(tags left out at this terminal width; --json lists them)"
    for task in tasks:
        row = [Text(task.id), task.difficulty, f"{len(task.visible_tests)}+{len(task.hidden_tests)}", Text(task.title)]
        table.add_row(*row, *([Text(", ".join(task.tags))] if with_tags else []))
    return table


@tasks_app.command("show")
def tasks_show(
    task_id: str,
    reveal: bool = typer.Option(False, help="Also print the reference code and hidden tests (authors only)."),
    as_json: bool = typer.Option(False, "--json", help="Print the task as JSON (the agent's view, or the whole task with --reveal)."),
) -> None:
    """Show one task as an agent sees it: numbered code and its visible tests (--reveal for the rest)."""
    from tracefix.cli.task_view import print_task
    from tracefix.tasks.registry import UnknownTaskError

    try:
        task = _registry().get(task_id)
    except UnknownTaskError as exc:
        raise fail(str(exc))
    if as_json:
        view = task.model_dump() if reveal else task.public_view()
        print(json.dumps(view, indent=2, ensure_ascii=False))
        return
    print_task(console, task, reveal=reveal)


@tasks_app.command("verify")
def tasks_verify(
    split: str = typer.Option("curated", help="Split to verify ('all' for every split)."),
    tasks_file: Optional[Path] = typer.Option(None, "--file", help="Verify the tasks of this JSONL file instead."),
    workers: int = typer.Option(4, help="Parallel verifications."),
    baselines_out: Optional[Path] = typer.Option(
        None, "--baselines-out", help="Also write each valid task's baseline (tests the buggy code passes) to this JSON file."),
) -> None:
    """Check every task against the validity rules of docs/task-format.md in the real sandbox."""
    from collections import Counter

    from rich.progress import Progress

    from tracefix.tasks.schema import TaskFileError, load_task_file
    from tracefix.tasks.verify import verify_tasks

    format_errors: list[TaskFileError] = []
    if tasks_file is not None:
        try:
            tasks, format_errors = load_task_file(tasks_file, collect_errors=True)
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            raise fail(f"{tasks_file}: cannot read: {exc}")
        for error in format_errors:
            for message in str(error).splitlines():  # "FILE:LINE: field: problem", one per problem
                console.print(Text.assemble(("INVALID", "red"), " ", message), soft_wrap=True)
        if not tasks and not format_errors:
            raise fail(f"{tasks_file}: no tasks (the file is empty); see {TASK_FORMAT_DOC}")
        label = str(tasks_file)
    else:
        registry = _registry()
        tasks = _selected_tasks(registry, split)
        label = split
    with Progress(console=err_console, transient=True) as progress:
        bar = progress.add_task(f"verifying {label}", total=len(tasks))
        verdicts = verify_tasks(tasks, workers=workers, on_result=lambda _: progress.advance(bar))
    invalid = [v for v in verdicts if not v.valid]
    for verdict in invalid:
        console.print(Text.assemble(("INVALID", "red"), " ", verdict.task_id), soft_wrap=True)
        for problem in verdict.problems:
            console.print(Text(f"    - {problem}"), soft_wrap=True)
    if tasks_file is None and split == "all":
        home = {t.id: name for name in registry.split_names() for t in registry.tasks(name)}
        table = Table(title="tasks per split and difficulty")
        for column in ("split", "valid", "invalid", "easy", "medium", "hard"):
            table.add_column(column, justify="left" if column == "split" else "right")
        for name in registry.split_names():
            mine = [v for v in verdicts if home.get(v.task_id) == name]
            ok = Counter(v.difficulty for v in mine if v.valid)
            table.add_row(
                Text(name), str(sum(ok.values())), str(sum(not v.valid for v in mine)),
                *(str(ok.get(d, 0)) for d in ("easy", "medium", "hard")),
            )
        console.print(table)
    by_difficulty = Counter(v.difficulty for v in verdicts if v.valid)
    counts = ", ".join(f"{d} {by_difficulty.get(d, 0)}" for d in ("easy", "medium", "hard"))
    unreadable = f", {len(format_errors)} line(s) not in the task format" if format_errors else ""
    console.print(Text(f"{len(verdicts) - len(invalid)} valid, {len(invalid)} invalid{unreadable} ({label}: {counts})"), soft_wrap=True)
    if baselines_out is not None:
        from tracefix.tasks.baseline import dump

        dump({v.task_id: v.baseline_entry() for v in verdicts if v.valid}, baselines_out)
        console.print(Text(f"baselines of {len(verdicts) - len(invalid)} tasks written to {baselines_out}"), soft_wrap=True)
    if invalid or format_errors:
        raise typer.Exit(1)


@tasks_app.command("generate")
def tasks_generate(
    out: Path = typer.Option(..., "--out", help="Output file (.jsonl, or .jsonl.gz for gzip); a FILE.report.json goes next to it."),
    seed: int = typer.Option(0, "--seed", help="Generator seed: same seed files + seed + count = byte-identical output."),
    count: int = typer.Option(10000, "--count", min=1, help="Number of verified tasks to produce."),
    seeds: Optional[list[Path]] = typer.Option(None, "--seeds", help="Seed program files (default: the packaged corpus/seeds/*.jsonl)."),
    jobs: int = typer.Option(0, "--jobs", help="Parallel workers (default: all cores)."),
    budget: float = typer.Option(0.25, "--budget", help="Time limit (s) of each screening run; slower mutants are dropped."),
    timeout: float = typer.Option(2.0, "--timeout", help="timeout_s written into each task."),
    operators: Optional[str] = typer.Option(None, "--operators", help="Comma-separated mutation operators (default: all)."),
    calibrate: bool = typer.Option(False, "--calibrate/--no-calibrate",
                                   help="Set each task's difficulty by playing the search and random baselines on a sample of each seed's tasks (slow; deterministic)."),
    measurements: Optional[Path] = typer.Option(None, "--measurements",
                                                help="With --calibrate: reuse the measurements of this FILE.calibration.jsonl.gz for the same tasks (same agents) instead of replaying them."),
) -> None:
    """Generate verified tasks by mutating correct seed programs (deterministic, parallel)."""
    import os

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tracefix.corpus.filters import DROP_REASONS, SandboxUnavailable
    from tracefix.corpus.generate import GenerateConfig, generate, write_tasks
    from tracefix.corpus.mutators import OPERATORS

    chosen = tuple(OPERATORS)
    if operators:
        chosen = tuple(op.strip().upper() for op in operators.split(",") if op.strip())
        unknown = [op for op in chosen if op not in OPERATORS]
        if unknown:
            raise fail(f"unknown operator(s) {', '.join(unknown)}; known: {', '.join(OPERATORS)}")
    config = GenerateConfig(
        seed=seed, count=count, jobs=jobs or max(1, os.cpu_count() or 1), timeout_s=timeout, budget_s=budget,
        operators=chosen, calibrate=calibrate, reuse_measurements=str(measurements) if measurements else None,
    )
    columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=False) as progress:
        bars = {
            "seeds": progress.add_task("checking seeds", total=None),
            "candidates": progress.add_task("screening candidates", total=None),
            "accepted": progress.add_task("tasks kept", total=count),
        }
        if calibrate:
            bars["calibration"] = progress.add_task("playing baselines", total=None)
        screened = {"total": 0}

        def on_progress(phase: str, advance: int, total: Optional[int]) -> None:
            if phase == "candidates" and advance == 0:
                return
            if total is not None:
                progress.update(bars[phase], total=total)
            if phase == "candidates":
                screened["total"] += advance
            progress.advance(bars[phase], advance)

        try:
            result = generate(config, seeds, progress=on_progress)
        except SandboxUnavailable as exc:
            raise fail(f"the sandbox cannot run code here: {exc}")
        except (OSError, RuntimeError) as exc:
            raise fail(str(exc))
    path, report_file = write_tasks(result.records, out, result.report, result.measurements)
    report = result.report
    for message in report.get("seed_errors", []):
        print_warning(message, label="seed skipped:")
    for seed_id, reason in report["seeds"]["rejected"].items():
        if not reason.startswith(("invalid", "duplicate_seed")):
            print_warning(f"{seed_id}: {reason}", label="seed skipped:")
    table = Table(title=Text(f"{report['produced']} tasks from {report['seeds']['usable']} seeds -> {path}"))
    for column in ("split", "seeds", "tasks", "easy", "medium", "hard"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for name, row in report["splits"].items():
        table.add_row(name, *(str(row[k]) for k in ("seeds", "tasks", "easy", "medium", "hard")))
    console.print(table)
    drops = Table(title=f"dropped {sum(report['drops'].values())} of {report['candidates_considered']} candidates")
    drops.add_column("reason")
    drops.add_column("count", justify="right")
    drops.add_column("meaning")
    for reason, number in report["drops"].items():
        drops.add_row(reason, str(number), DROP_REASONS.get(reason, ""))
    console.print(drops)
    families = Table(title="bugs per family (a task with several bugs counts each)")
    for column in ("family", "bugs", "share", "tasks"):
        families.add_column(column, justify="left" if column == "family" else "right")
    for name, row in report["families"].items():
        families.add_row(name, str(row["bugs"]), f"{100 * row['share']:.1f} %", str(row["tasks"]))
    console.print(families)
    console.print(Text("features: " + ", ".join(f"{k} {v}" for k, v in report["features"].items())), soft_wrap=True)
    size = path.stat().st_size
    console.print(
        Text(
            f"{report['produced']} tasks in {report['elapsed_s']:.1f} s with {config.jobs} workers; "
            f"{path} is {size / 1024:.0f} KiB; report: {report_file}"
        ),
        soft_wrap=True,
    )
    if report["produced"] < count:
        err_console.print(Text(f"only {report['produced']} of {count} tasks could be generated", "yellow"))
        raise typer.Exit(1)


@tasks_app.command("import")
def tasks_import(
    file: Path = typer.Argument(..., help="A task file in the format of docs/task-format.md (.jsonl or .jsonl.gz)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Copy the valid lines here (its name becomes the split name)."),
    keep_valid: bool = typer.Option(False, "--keep-valid", help="With --out: write the valid lines even if some lines are bad."),
    workers: int = typer.Option(4, help="Parallel verifications."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Run the validity rules in the sandbox (default) or only check the format."),
) -> None:
    """Validate and verify an outside task file, reporting every problem with its line number.

    The format is described in docs/task-format.md (format version 1).
    """
    from rich.progress import Progress

    from tracefix.corpus.importer import import_tasks, split_name_for, write_valid
    from tracefix.tasks.registry import default_registry

    if not file.exists():
        raise fail(f"{file}: no such file")
    split = split_name_for(out or file)
    with Progress(console=err_console, transient=True) as progress:
        bar = progress.add_task(f"verifying {file.name}", total=None)
        result = import_tasks(
            file, split=split, registry=default_registry(), verify=verify, workers=workers,
            on_parsed=lambda n: progress.update(bar, total=n), on_result=lambda _: progress.advance(bar),
        )
    for message in result.messages():
        console.print(message, highlight=False, markup=False, soft_wrap=True)
    bad_lines = len({p.line for p in result.problems if p.line})
    console.print(Text(f"{len(result.tasks)} valid, {bad_lines} invalid of {result.total_lines} lines ({file})"), soft_wrap=True)
    if out is not None and (result.ok or keep_valid) and result.tasks:
        write_valid(result, out)
        console.print(Text(f"wrote {len(result.tasks)} tasks to {out}"), soft_wrap=True)
    if result.ok:
        source = out or file
        console.print(
            Text(
                f"selectable as split {split!r}: tracefix serve --tasks-file {source}  "
                f"(then reset with split={split!r}; or `tracefix tasks list --split {split} --tasks-file {source}`)"
            ),
            soft_wrap=True,
        )
    else:
        raise typer.Exit(1)


# -- play -------------------------------------------------------------------------------------------
@app.command()
def play(
    agent: str = typer.Option(
        "oracle",
        help="Built-in agent: oracle (privileged, replays the reference fix), search, random, "
        "or llm (an OpenAI-compatible model: HF_TOKEN or API_KEY, API_BASE_URL, MODEL_NAME).",
    ),
    task: Optional[str] = typer.Option(None, "--task", help="Task id (default: drawn by seed)."),
    difficulty: Optional[str] = typer.Option(None, help="easy, medium or hard."),
    split: Optional[str] = typer.Option(None, help="Split to draw from (default: curated)."),
    episodes: int = typer.Option(1, min=1, help="Episodes to play."),
    seed: int = typer.Option(0, help="Seed of the first episode (then seed+1, ...)."),
    url: Optional[str] = typer.Option(None, help="Server URL; default: start an embedded server on 127.0.0.1."),
    quiet: bool = typer.Option(False, help="Only print the episode summaries."),
    record: Optional[Path] = typer.Option(None, "--record", help="Record each episode as a trajectory file in this directory."),
) -> None:
    """Play episodes with a built-in agent against a running or embedded server, printing each step."""
    from tracefix.agents import make_agent
    from tracefix.agents.episode import ClientSession, play_episode
    from tracefix.cli.render import print_start, print_step, print_summary
    from tracefix.trajectory import RecordingSession

    problem = api_key_problem([agent])
    if problem:
        raise fail(problem)
    try:
        chosen = make_agent(agent)
    except (ValueError, RuntimeError) as exc:
        raise fail(str(exc))
    reset_kwargs = {k: v for k, v in {"task_id": task, "difficulty": difficulty, "split": split}.items() if v}

    def run(base_url: str) -> None:
        from tracefix.client import TraceFixEnv

        for episode in range(episodes):
            with TraceFixEnv(base_url=base_url).sync() as client:
                session = RecordingSession.wrap(ClientSession(client), record, source="play", agent=chosen)
                result = play_episode(
                    session,
                    chosen,
                    {**reset_kwargs, "seed": seed + episode},
                    on_start=None if quiet else (lambda obs: print_start(console, obs, chosen)),
                    on_step=None if quiet else (lambda step: print_step(console, step)),
                )
            print_summary(console, result)
            if isinstance(session, RecordingSession):
                console.print(Text(f"trajectory: {session.close() or '(no step was played: nothing recorded)'}"))

    try:
        if url:
            run(url)
        else:
            from tracefix.server.embedded import embedded_server

            with embedded_server() as base_url:
                if not quiet:
                    console.print(Text(f"embedded server at {base_url}", "dim"))
                run(base_url)
    except (ConnectionError, OSError, RuntimeError) as exc:
        raise fail(f"could not play against {url or 'the embedded server'}: {exc}")
    if chosen.privileged:
        console.print(Text("note: the oracle agent is privileged (it replays the reference fix); it validates tasks, it is not a baseline.", "dim"))
    raise typer.Exit(0)


from tracefix.cli.eval import EvalCommand, eval_command  # noqa: E402

app.command("eval", cls=EvalCommand)(eval_command)

from tracefix.cli.export import export_app  # noqa: E402
from tracefix.cli.export_sft import export_sft_command  # noqa: E402

export_app.command("sft")(export_sft_command)
app.add_typer(export_app, name="export")

from tracefix.cli.mcp import mcp_command  # noqa: E402
from tracefix.cli.trajectories import replay_command, show_command  # noqa: E402

from tracefix.cli.corpus_cli import amplify_seeds_command, calibrate_command, seeds_report_command  # noqa: E402

tasks_app.command("seeds-report")(seeds_report_command)
tasks_app.command("amplify-seeds")(amplify_seeds_command)
tasks_app.command("calibrate")(calibrate_command)
app.command("mcp")(mcp_command)
app.command("replay")(replay_command)
app.command("show")(show_command)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

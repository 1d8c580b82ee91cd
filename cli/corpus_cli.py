"""``tracefix tasks seeds-report`` and ``tracefix tasks calibrate``: the corpus's quality commands.

* ``seeds-report``: every seed's format bar and mutation kill rate (:mod:`tracefix.corpus.seed_quality`);
  exit 1 when a seed is below the bar.
* ``calibrate``: play the ``search`` and ``random`` baselines on every task of a corpus file and set
  each task's difficulty from what they achieved (:mod:`tracefix.corpus.calibrate`); also the way to
  measure an agent's solve rate per split, band and bug family (``--report-only``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console()
err_console = Console(stderr=True)


def seeds_report_command(
    seeds: Optional[list[Path]] = typer.Option(None, "--seeds", help="Seed files (default: the packaged corpus/seeds/*.jsonl)."),
    jobs: int = typer.Option(2, "--jobs", help="Parallel sandbox runs."),
    only: Optional[str] = typer.Option(None, "--only", help="Comma-separated seed ids to assess (default: all)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every seed's numbers and survivors to this JSON file."),
    markdown_out: Optional[Path] = typer.Option(None, "--markdown", help="Write the per-seed table (Markdown) to this file."),
    show_survivors: bool = typer.Option(False, "--show-survivors", help="Print each surviving mutant (equivalent, or a hole in the tests)."),
) -> None:
    """Check every seed program: >= 8 tests (>= 3 visible, >= 4 hidden), no asserts in exec steps, and a
    mutation kill rate >= 95 % with the generator's operators (real sandbox)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tracefix.corpus.domains import DOMAINS
    from tracefix.corpus.generate import load_seeds
    from tracefix.corpus.seed_quality import MIN_KILL_RATE, assess, markdown, survivors_by_family

    loaded = load_seeds(seeds)
    for message in loaded.errors:
        err_console.print(Text.assemble(("seed rejected:", "red"), " ", message), soft_wrap=True)
    chosen = loaded.seeds
    if only:
        wanted = {s.strip() for s in only.split(",") if s.strip()}
        chosen = [s for s in chosen if s.id in wanted]
    columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        bar = progress.add_task("seeds", total=len(chosen))
        mutant_bar = progress.add_task("mutants run", total=None)
        results = assess(chosen, jobs=jobs, on_mutant=lambda: progress.advance(mutant_bar),
                         on_seed=lambda _: progress.advance(bar))
    failing = [q for q in results if not q.passes]
    for quality in failing:
        console.print(Text.assemble(("BELOW THE BAR", "red"), f" {quality.seed_id} ({Path(quality.path).name}): "
                                    f"kill rate {100 * quality.kill_rate:.1f} %"), soft_wrap=True)
        for problem in quality.problems:
            console.print(Text(f"    - {problem}"), soft_wrap=True)
    if show_survivors:
        for quality in results:
            for survivor in quality.survivors:
                console.print(Text(f"survivor {quality.seed_id}: {survivor.operator} {survivor.note}"), soft_wrap=True)
    table = Table(title=f"{len(results)} seeds by domain")
    for column in ("domain", "seeds", "tests", "mutants", "kill rate", "lowest"):
        table.add_column(column, justify="left" if column == "domain" else "right")
    by_domain: dict[str, list] = {}
    for quality in results:
        by_domain.setdefault(quality.domain, []).append(quality)
    for domain in [*DOMAINS, *sorted(set(by_domain) - set(DOMAINS))]:
        group = by_domain.get(domain, [])
        if not group:
            continue
        mutants = sum(q.mutants for q in group)
        killed = sum(q.killed for q in group)
        lowest = min(group, key=lambda q: q.kill_rate)
        table.add_row(domain, str(len(group)), str(sum(q.tests for q in group)), str(mutants),
                      f"{100 * killed / max(1, mutants):.1f} %", f"{100 * lowest.kill_rate:.1f} %")
    console.print(table)
    mutants = sum(q.mutants for q in results)
    killed = sum(q.killed for q in results)
    console.print(Text(f"{len(results) - len(failing)} of {len(results)} seeds meet the bar; {killed} of {mutants} mutants "
                       f"killed ({100 * killed / max(1, mutants):.1f} %); survivors by family: {survivors_by_family(results)}"),
                  soft_wrap=True)
    if json_out is not None:
        summary = {"min_kill_rate": MIN_KILL_RATE, "seeds": [q.row() for q in results],
                   "survivors_by_family": survivors_by_family(results)}
        json_out.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    if markdown_out is not None:
        markdown_out.write_text(markdown(results), encoding="utf-8")
    if failing:
        raise typer.Exit(1)


def calibrate_command(
    file: Path = typer.Argument(..., help="A generated corpus (.jsonl or .jsonl.gz)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the corpus with measured difficulties here (and FILE.calibration.jsonl.gz)."),
    jobs: int = typer.Option(0, "--jobs", help="Worker processes (default: all cores)."),
    split: Optional[str] = typer.Option(None, "--split", help="Only the tasks of this split (with --report-only)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only every k-th task so that about this many are played (with --report-only)."),
    report_only: bool = typer.Option(False, "--report-only", help="Measure and print solve rates per split, band and bug family; write nothing but --json."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the measurements (one object per task) to this JSON Lines file."),
) -> None:
    """Measure each task's difficulty by playing the search and random baselines on it (real sandbox)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tracefix.corpus.calibrate import measure_tasks
    from tracefix.corpus.splits import task_split
    from tracefix.tasks.schema import read_lines

    records = [json.loads(line) for line in read_lines(file) if line.strip()]
    if (split or limit) and not report_only:
        raise typer.BadParameter("--split and --limit only go with --report-only (a calibrated corpus needs every task)")
    if split:
        records = [r for r in records if f"split:{split}" in r.get("tags", [])]
    if limit and len(records) > limit:
        step = len(records) / limit
        records = [records[int(i * step)] for i in range(limit)]
    jobs = jobs or max(1, os.cpu_count() or 1)
    columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        bar = progress.add_task("playing baselines", total=len(records))
        measurements = measure_tasks(records, jobs=jobs, progress=lambda _p, advance, _t: progress.advance(bar, advance))
    if json_out is not None:
        json_out.write_text("".join(json.dumps(measurements[r["id"]].line()) + "\n" for r in records), encoding="utf-8")
    from tracefix.tasks.schema import parse_task

    tasks = [parse_task(r) for r in records]
    print_solve_rates(tasks, measurements)
    if report_only or out is None:
        return
    from tracefix.corpus.calibrate import calibration_report, difficulty_from, encode_measurements, measurements_path
    from tracefix.corpus.generate import encode_tasks, report_path

    for record in records:
        record["difficulty"] = difficulty_from(measurements[record["id"]])
    out.write_bytes(encode_tasks(records, compress=out.suffix == ".gz"))
    measurements_path(out).write_bytes(encode_measurements(measurements))
    source_report = report_path(file)
    if source_report.exists():
        report = json.loads(source_report.read_text(encoding="utf-8"))
        tasks = [parse_task(r) for r in records]
        report["calibration"] = calibration_report(tasks, measurements)
        report["difficulty"] = dict(Counter(t.difficulty for t in tasks))
        for name, row in report.get("splits", {}).items():
            for band in ("easy", "medium", "hard"):
                row[band] = sum(1 for t in tasks if task_split(t) == name and t.difficulty == band)
        report_path(out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(Text(f"{len(records)} tasks calibrated -> {out}"), soft_wrap=True)


def print_solve_rates(tasks, measurements) -> None:
    """``search`` / ``random`` solve rates per split and per bug family."""
    from tracefix.corpus.families import FAMILY_TAG
    from tracefix.corpus.splits import task_split

    def rate(group) -> str:
        ms = [measurements[t.id] for t in group]
        solved = sum(m.search_solved for m in ms)
        random_rate = sum(m.random_solved for m in ms) / max(1, sum(m.random_episodes for m in ms))
        return f"{len(ms)}", f"{100 * solved / max(1, len(ms)):.1f} %", f"{100 * random_rate:.1f} %"

    table = Table(title="solve rates per split")
    for column in ("split", "tasks", "search", "random"):
        table.add_column(column, justify="left" if column == "split" else "right")
    splits: dict[str, list] = {}
    for task in tasks:
        splits.setdefault(task_split(task) or "-", []).append(task)
    for name, group in [*splits.items(), ("all", tasks)]:
        table.add_row(name, *rate(group))
    console.print(table)
    table = Table(title="search solve rate per bug family (a task counts for each of its families)")
    for column in ("family", "tasks", "search", "random"):
        table.add_column(column, justify="left" if column == "family" else "right")
    families: dict[str, list] = {}
    for task in tasks:
        for tag in task.tags:
            if tag.startswith(FAMILY_TAG):
                families.setdefault(tag[len(FAMILY_TAG):], []).append(task)
    for name in sorted(families):
        table.add_row(name, *rate(families[name]))
    console.print(table)


def amplify_seeds_command(
    seeds: Optional[list[Path]] = typer.Option(None, "--seeds", help="Seed files (default: the packaged corpus/seeds/*.jsonl)."),
    only: Optional[str] = typer.Option(None, "--only", help="Comma-separated seed ids (default: every seed below the bar)."),
    jobs: int = typer.Option(2, "--jobs", help="Parallel sandbox runs."),
    write: bool = typer.Option(False, "--write", help="Add the new hidden tests to the seed files (default: only report)."),
) -> None:
    """Add hidden tests, derived from each seed's own tests with the reference's results as expectations,
    that kill the mutants surviving its tests (for seeds below the kill-rate bar)."""
    from tracefix.corpus.amplify import amplify
    from tracefix.corpus.generate import load_seeds
    from tracefix.corpus.seed_quality import MIN_KILL_RATE, assess

    loaded = load_seeds(seeds)
    chosen = loaded.seeds
    if only:
        wanted = {s.strip() for s in only.split(",") if s.strip()}
        chosen = [s for s in chosen if s.id in wanted]
    changed: dict[str, list[dict]] = {}
    for seed in chosen:
        [quality] = assess([seed], jobs=jobs)
        if not only and quality.kill_rate >= MIN_KILL_RATE:
            continue
        result = amplify(seed, quality.survivors)
        after = quality.killed + result.killed
        console.print(Text(f"{seed.id}: {len(quality.survivors)} survivors, {len(result.tests)} new hidden tests kill {result.killed}; "
                           f"kill rate {100 * quality.kill_rate:.1f} % -> {100 * after / max(1, quality.mutants):.1f} %"), soft_wrap=True)
        if result.tests:
            changed[seed.id] = [t.model_dump(mode="json", exclude_unset=True) for t in result.tests]
    if not write or not changed:
        return
    for path in {Path(s.path) for s in chosen if s.id in changed}:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        out = []
        for line in lines:
            if line.strip():
                data = json.loads(line)
                if data.get("id") in changed:
                    data["tests"] = [*data["tests"], *changed[data["id"]]]
                    line = json.dumps(data, ensure_ascii=False) + "\n"
            out.append(line)
        path.write_text("".join(out), encoding="utf-8")
        console.print(Text(f"updated {path}"), soft_wrap=True)

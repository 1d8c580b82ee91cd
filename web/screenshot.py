"""Save screenshots of the web page: ``uv run python -m tracefix.web.screenshot --out docs/web.png``.

It starts the server with the page on 127.0.0.1 (recording into a temporary directory), plays an
episode of ``--task`` through the page in headless Chromium (run the tests, apply the reference
fix edit by edit, run the tests again, submit), saves the Play tab, then opens the episode the
server just recorded in the trajectory viewer, steps to its first edit and saves that too
(``--viewer-out``).  The fix comes from the privileged oracle: it shows the page, not an agent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

DEFAULT_TASK = "curated/playlist_mutable_default"


def take_screenshots(out: Path, viewer_out: Optional[Path], task_id: str = DEFAULT_TASK, width: int = 1440) -> list[Path]:
    from tracefix.agents.oracle import fix_actions
    from tracefix.server.embedded import EmbeddedServer
    from tracefix.server.tracefix_rl_environment import configure_recording, recording_directory
    from tracefix.tasks.registry import default_registry
    from tracefix.web.browser import TraceFixPage, chromium_page

    task = default_registry().get(task_id)
    saved: list[Path] = []
    previous = recording_directory()
    with tempfile.TemporaryDirectory(prefix="tracefix-web-") as records:
        configure_recording(records)
        try:
            with EmbeddedServer(web=True) as server, chromium_page(width=width, height=1000) as page:
                driver = TraceFixPage(page, server.base_url).open()
                driver.new_episode(task_id, seed=0)
                driver.act("run_tests")
                for action in fix_actions(task.buggy_code, task.reference_code):
                    assert action.start_line is not None and action.end_line is not None
                    driver.replace_lines(action.start_line, action.end_line, (action.new_code_block or "").rstrip("\n"))
                driver.act("run_tests")
                driver.act("submit")
                page.wait_for_selector('#tf-status [data-state="done"]')
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=True)
                saved.append(out)
                if viewer_out is not None:
                    page.reload(wait_until="load")
                    page.wait_for_selector("#tf-reset")
                    driver.open_viewer()
                    recorded = sorted(Path(records).rglob("*.jsonl"))
                    if not recorded:
                        raise RuntimeError("the server recorded no trajectory")
                    driver.load_recorded(recorded[-1].name)
                    driver.viewer_move(forward=True)
                    driver.viewer_move(forward=True)
                    viewer_out.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(viewer_out), full_page=True)
                    saved.append(viewer_out)
        finally:
            configure_recording(previous)
    return saved


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Save screenshots of the TraceFix web page (headless Chromium).")
    parser.add_argument("--out", type=Path, default=Path("docs/web.png"), help="the Play tab after a solved episode")
    parser.add_argument("--viewer-out", type=Path, default=None, help="also the trajectory viewer (e.g. docs/web-viewer.png)")
    parser.add_argument("--task", default=DEFAULT_TASK, help="the task played (default %(default)s)")
    parser.add_argument("--width", type=int, default=1440, help="viewport width in pixels")
    args = parser.parse_args(argv)
    from tracefix.web.browser import BrowserUnavailable

    try:
        for path in take_screenshots(args.out, args.viewer_out, args.task, args.width):
            print(path)
    except BrowserUnavailable as exc:
        print(f"error: no browser: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

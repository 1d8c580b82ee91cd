"""A headless Chromium for the browser tests and the screenshot command, through Playwright.

Playwright's own browser download is not used (it needs a CDN that package-registry-only hosts
cannot reach): Playwright drives the system's Chromium (Debian's ``chromium`` package), found at
``TRACEFIX_CHROMIUM`` or on the usual paths.  Requests to anything but the page's own host are
aborted, so a page never reaches the network (Gradio's theme names Google fonts, for example).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Any, Iterator, Optional
from urllib.parse import urlsplit

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class BrowserUnavailable(RuntimeError):
    """No usable browser here; the message says what is missing and how to install it."""


def find_chromium() -> Optional[str]:
    """The Chromium executable: ``TRACEFIX_CHROMIUM``, else the first of the usual names on ``PATH``."""
    configured = os.environ.get("TRACEFIX_CHROMIUM", "").strip()
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable_reason() -> Optional[str]:
    """``None`` when a browser can be driven here, else why not (for a skip message)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (it is in the dev dependency group: uv sync)"
    if find_chromium() is None:
        return ("no Chromium executable found (apt-get install chromium, or set TRACEFIX_CHROMIUM to its path); "
                "Playwright's own browser download is not used")
    return None


def _only_local(route: Any) -> None:
    host = urlsplit(route.request.url).hostname or ""
    if host in LOCAL_HOSTS or route.request.url.startswith(("data:", "blob:")):
        route.continue_()
    else:
        route.abort()


@contextlib.contextmanager
def chromium_browser() -> Iterator[Any]:
    """Headless system Chromium under Playwright; raises :class:`BrowserUnavailable` when there is none."""
    reason = unavailable_reason()
    if reason is not None:
        raise BrowserUnavailable(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


def local_page(browser: Any, width: int = 1440, height: int = 1000, scale: float = 1.0) -> Any:
    """A fresh page (its own cookies and storage) that can only reach local hosts."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale)
    context.route("**/*", _only_local)
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


@contextlib.contextmanager
def chromium_page(width: int = 1440, height: int = 1000, scale: float = 1.0) -> Iterator[Any]:
    """A local-only page in a browser of its own (for one-off uses such as the screenshot)."""
    with chromium_browser() as browser:
        yield local_page(browser, width, height, scale)


class TraceFixPage:
    """Drives the TraceFix tab like a person would (used by the browser tests and the screenshot).

    Every method waits for the page to show the outcome of what it did, never for a fixed time:
    Gradio pages never go network-idle, so waits are on elements and ``data-`` attributes.
    """

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")

    def open(self) -> "TraceFixPage":
        self.page.goto(f"{self.base_url}/web/", wait_until="load")
        self.page.wait_for_selector("#tf-reset")
        return self

    def steps_shown(self) -> int:
        return int(self.page.locator("#tf-log .tf-log").first.get_attribute("data-steps") or 0)

    def choose_task(self, task_id: str, split: str = "curated") -> None:
        if self.page.locator("#tf-split input").input_value() != split:
            self._pick("#tf-split", split)
        self._pick("#tf-task", task_id)

    def _pick(self, selector: str, text: str) -> None:
        box = self.page.locator(f"{selector} input")
        box.click()
        self.page.locator("[role=option]").filter(has_text=text).first.click()

    def new_episode(self, task_id: str, seed: int = 0, split: str = "curated") -> None:
        self.choose_task(task_id, split)
        self.page.locator("#tf-seed input").fill(str(seed))
        self.page.click("#tf-reset")
        self.page.wait_for_selector(f'#tf-description [data-task="{task_id}"]')
        self.page.wait_for_selector('#tf-log [data-steps="0"]')

    def act(self, tool: str) -> None:
        """Click an action button and wait until the step appears in the step log."""
        before = self.steps_shown()
        self.page.click(f"#tf-action-{tool}")
        self.page.wait_for_selector(f'#tf-log [data-steps="{before + 1}"]')

    def replace_lines(self, start: int, end: int, new_code: str) -> None:
        self.page.locator("#tf-start input").fill(str(start))
        self.page.locator("#tf-end input").fill(str(end))
        editor = self.page.locator("#tf-new-code .cm-content")
        editor.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        if new_code:
            editor.fill(new_code)
        self.act("replace_lines")

    def open_viewer(self) -> None:
        self.page.get_by_role("tab", name="Trajectory viewer").click()
        self.page.wait_for_selector("#tf-traj-upload")

    def upload_trajectory(self, path: str) -> None:
        self.page.locator("#tf-traj-upload input[type=file]").set_input_files(path)
        self.page.wait_for_selector("#tf-traj-facts .tf-facts")

    def load_recorded(self, name: str) -> None:
        """Open a file of the server's recording directory from the viewer's list."""
        self._pick("#tf-traj-recorded", name)
        self.page.click("#tf-traj-load")
        self.page.wait_for_selector("#tf-traj-facts .tf-facts")

    def viewer_index(self) -> int:
        return int(self.page.locator("#tf-traj-position .tf-position").get_attribute("data-index") or 0)

    def viewer_move(self, forward: bool = True) -> int:
        target = self.viewer_index() + (1 if forward else -1)
        self.page.click("#tf-traj-next" if forward else "#tf-traj-prev")
        self.page.wait_for_selector(f'#tf-traj-position [data-index="{target}"]')
        return target


__all__ = [
    "BrowserUnavailable",
    "CHROMIUM_ARGS",
    "TraceFixPage",
    "chromium_browser",
    "chromium_page",
    "find_chromium",
    "local_page",
    "unavailable_reason",
]

"""Several TraceFix servers behind one client: sessions spread over them, episodes survive a dead one.

``TRACEFIX_URLS`` (or a list given in code) names the servers, comma- or space-separated.  Every
new session goes to the next server in turn (round robin), skipping servers that recently refused
a connection or were full.  A session whose server dies mid-episode moves to another server: the
episode is replayed there from its reset (same arguments, same seed) and its actions, which gives
the same state because episodes are deterministic, and the step that failed is sent again.  The
replayed observations are checked against the ones the caller already saw; if they differ, the
episode cannot be moved and :class:`FailoverError` says so (it never continues from a different
state).

Example::

    from tracefix.failover import FailoverSession, ServerSet

    servers = ServerSet.from_env()               # TRACEFIX_URLS, else TRACEFIX_URL
    session = FailoverSession(servers)
    observation = session.reset(task_id="curated/gcd_off_by_one", seed=0)
    observation = session.step(CodeAction(action_type="RUN_TESTS"))
    session.close()

Used by ``tracefix eval --url A,B`` and by the TRL tool environment (:mod:`tracefix.adapters.trl_env`).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from typing import Any, Iterable, List, Optional, Sequence, Union

from tracefix.models import CodeAction, CodeObservation

TRACEFIX_URLS_ENV = "TRACEFIX_URLS"
TRACEFIX_URL_ENV = "TRACEFIX_URL"
DOWN_FOR_S = 30.0
"""How long a server that refused a connection (or was full) is skipped before it is tried again."""


class FailoverError(RuntimeError):
    """No server could take the session, or the episode could not be moved to another server."""


def parse_urls(urls: Union[str, Iterable[str], None]) -> List[str]:
    """``"http://a:1, http://b:2"`` or a list -> ``["http://a:1", "http://b:2"]`` (no duplicates)."""
    if urls is None:
        return []
    items = re.split(r"[,\s]+", urls) if isinstance(urls, str) else list(urls)
    out: List[str] = []
    for item in items:
        item = item.strip().rstrip("/")
        if item and item not in out:
            out.append(item)
    return out


def server_urls(urls: Union[str, Iterable[str], None] = None) -> List[str]:
    """The servers to use: ``urls`` if given, else ``TRACEFIX_URLS``, else ``TRACEFIX_URL``."""
    for source in (urls, os.environ.get(TRACEFIX_URLS_ENV), os.environ.get(TRACEFIX_URL_ENV)):
        parsed = parse_urls(source)
        if parsed:
            return parsed
    return []


def is_connection_failure(exc: BaseException) -> bool:
    """Whether ``exc`` means the server is unreachable or went away (not an error it answered)."""
    try:
        from websockets.exceptions import ConnectionClosed
    except ImportError:  # pragma: no cover - websockets is a dependency
        ConnectionClosed = ()  # type: ignore[assignment,misc]
    if isinstance(exc, (ConnectionError, ConnectionClosed, OSError, asyncio.TimeoutError, TimeoutError)):
        return True
    return isinstance(exc, RuntimeError) and "CAPACITY_REACHED" in str(exc)


class ServerSet:
    """The servers sessions are spread over, in turn, skipping those that recently failed."""

    def __init__(self, urls: Union[str, Sequence[str]], down_for_s: float = DOWN_FOR_S) -> None:
        self.urls = parse_urls(urls)
        if not self.urls:
            raise ValueError("no server URL given (pass URLs, or set TRACEFIX_URLS)")
        self.down_for_s = down_for_s
        self._down_until = {url: 0.0 for url in self.urls}
        self._next = 0
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, urls: Union[str, Sequence[str], None] = None) -> "ServerSet":
        return cls(server_urls(urls))

    def order(self) -> List[str]:
        """Every server once, starting with the next in turn; servers marked down go last."""
        with self._lock:
            start = self._next
            self._next = (self._next + 1) % len(self.urls)
            now = time.monotonic()
            turn = self.urls[start:] + self.urls[:start]
        return [u for u in turn if self._down_until[u] <= now] + [u for u in turn if self._down_until[u] > now]

    def mark_down(self, url: str) -> None:
        with self._lock:
            self._down_until[url] = time.monotonic() + self.down_for_s

    def mark_up(self, url: str) -> None:
        with self._lock:
            self._down_until[url] = 0.0

    def down(self) -> List[str]:
        now = time.monotonic()
        with self._lock:
            return [u for u in self.urls if self._down_until[u] > now]


class FailoverSession:
    """One episode at a time on one of a :class:`ServerSet`'s servers, moved to another if it dies.

    ``reset(**kwargs)`` and ``step(action)`` return observations, as :class:`~tracefix.agents.episode.Session`
    expects.  ``moves`` counts how often the session changed server.
    """

    def __init__(self, servers: ServerSet, message_timeout_s: float = 120.0, connect_timeout_s: float = 10.0) -> None:
        self.servers = servers
        self.message_timeout_s = message_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.url: Optional[str] = None
        self.moves = 0
        self._client: Any = None
        self._reset_kwargs: Optional[dict] = None
        self._seen: List[CodeObservation] = []
        self._actions: List[CodeAction] = []

    # -- the Session interface ------------------------------------------------------------------------
    def reset(self, **kwargs: Any) -> CodeObservation:
        self._reset_kwargs, self._actions, self._seen = dict(kwargs), [], []
        observation = self._call(lambda client: client.reset(**kwargs).observation, replay=False)
        self._seen.append(observation)
        return observation

    def step(self, action: CodeAction) -> CodeObservation:
        observation = self._call(lambda client: client.step(action).observation, replay=True)
        self._actions.append(action)
        self._seen.append(observation)
        return observation

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a session whose server is gone
                pass

    def __enter__(self) -> "FailoverSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- failover -------------------------------------------------------------------------------------
    def _call(self, operation: Any, replay: bool) -> CodeObservation:
        """Run ``operation`` on the current server; if it is gone, move (replaying) and run it again."""
        if self._client is not None:
            try:
                return operation(self._client)
            except Exception as exc:  # noqa: BLE001 - sorted below
                if not is_connection_failure(exc):
                    raise
                assert self.url is not None
                self.servers.mark_down(self.url)
                self.close()
                self.moves += 1
        return self._open_elsewhere(operation, replay)

    def _open_elsewhere(self, operation: Any, replay: bool) -> CodeObservation:
        from tracefix.client import TraceFixEnv

        failures: List[str] = []
        for url in self.servers.order():
            client = TraceFixEnv(base_url=url, message_timeout_s=self.message_timeout_s,
                                 connect_timeout_s=self.connect_timeout_s).sync()
            try:
                client.connect()
                if replay:
                    self._replay(client, url)
                result = operation(client)
            except FailoverError:
                client.close()
                raise
            except Exception as exc:  # noqa: BLE001 - sorted below
                try:
                    client.close()
                except Exception:  # noqa: BLE001
                    pass
                if not is_connection_failure(exc):
                    raise
                self.servers.mark_down(url)
                failures.append(f"{url}: {type(exc).__name__}: {exc}")
                continue
            self.servers.mark_up(url)
            self._client, self.url = client, url
            return result
        raise FailoverError("no TraceFix server could take the session: " + "; ".join(failures))

    def _replay(self, client: Any, url: str) -> None:
        """Bring a new session on ``client`` to where the episode was: reset and the same actions."""
        if self._reset_kwargs is None:
            return
        replayed = [client.reset(**self._reset_kwargs).observation]
        for action in self._actions:
            replayed.append(client.step(action).observation)
        for index, (before, again) in enumerate(zip(self._seen, replayed)):
            if _fingerprint(before) != _fingerprint(again):
                raise FailoverError(
                    f"the episode could not be moved to {url}: replaying it diverged at step {index} "
                    f"({before.message!r} became {again.message!r})")


def _fingerprint(observation: CodeObservation) -> tuple:
    """What must be equal for a replayed step to count as the same step."""
    return (observation.task_id, observation.code_view, observation.reward, observation.done, observation.tests_passed,
            observation.score, observation.success, observation.steps_used)


__all__ = ["FailoverError", "FailoverSession", "ServerSet", "TRACEFIX_URLS_ENV", "is_connection_failure",
           "parse_urls", "server_urls"]

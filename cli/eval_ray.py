"""``tracefix eval --ray [ADDRESS]``: the episodes of an evaluation across Ray actors.

Each actor is a process of its own (on any node of the cluster) holding an embedded TraceFix server
on its node's 127.0.0.1 with a sandbox pool of ``pool_size`` workers, and plays the episodes it is
given through that server exactly as the single-process path does (:func:`tracefix.cli.eval.run_job`),
so the rows are the same for the same seeds.  The driver keeps ``workers`` episodes in flight per
actor and yields rows as they finish; the caller writes them (``--out``, ``--resume``).

* ``--ray`` alone starts a local Ray cluster on this machine, bound to 127.0.0.1 only, without the
  dashboard or usage statistics.
* ``--ray ADDRESS`` connects to an existing cluster (``auto``, ``host:6379``, ``ray://host:10001``).
  Every node needs TraceFix installed in the same environment as the driver (same Python, same
  version), and bubblewrap for the full sandbox tier; or pass a ``runtime_env`` through
  ``RAY_RUNTIME_ENV_HOOK``/``ray.init`` yourself.  ``--record DIR`` writes trajectories on the
  node each actor runs on.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

LOCAL = "local"
"""The ``--ray`` value given when no address follows it (see ``tracefix.cli.eval.EvalCommand``)."""


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached."""


def _import_ray(local: bool) -> Any:
    # Before ray is imported: these are read at import time.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Workers run the driver's interpreter; without this, Ray re-runs `uv run` on each worker in a
    # fresh environment (without the extras this driver has).
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    if local:
        # A one-machine cluster: every Ray process binds and advertises 127.0.0.1 only.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise RayUnavailable(
            "--ray needs Ray: install the `ray` extra (uv sync --extra ray, or pip install 'tracefix[ray]')") from None
    return ray


def init_ray(address: str, num_cpus: Optional[int] = None) -> Any:
    """Connect to (or, for ``local``, start) a Ray cluster; returns the ``ray`` module."""
    local = address == LOCAL
    ray = _import_ray(local)
    if ray.is_initialized():
        return ray
    try:
        if local:
            ray.init(num_cpus=num_cpus, include_dashboard=False, configure_logging=False, log_to_driver=False)
        else:
            ray.init(address=address, configure_logging=False, log_to_driver=False)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the cluster
        raise RayUnavailable(f"could not start or reach the Ray cluster {address!r}: {type(exc).__name__}: {exc}") from exc
    return ray


class EvalActor:
    """One actor: an embedded server (its own sandbox pool) and the episodes sent to it."""

    def __init__(self, pool_size: int, max_steps: Optional[int], record_dir: Optional[str]) -> None:
        os.environ["TRACEFIX_SANDBOX_POOL_SIZE"] = str(pool_size)
        os.environ.setdefault("TRACEFIX_SYNTAX_POOL_SIZE", "1")
        from tracefix.failover import ServerSet
        from tracefix.server.embedded import EmbeddedServer

        self._server = EmbeddedServer().start()
        self._servers = ServerSet(self._server.base_url)
        self._max_steps = max_steps
        self._record_dir = Path(record_dir) if record_dir else None

    def run(self, job: Dict[str, Any]) -> Dict[str, Any]:
        from tracefix.cli.eval import Job, run_job

        return run_job(Job(**job), self._servers, self._max_steps, record_dir=self._record_dir)

    def where(self) -> Dict[str, Any]:
        return {"pid": os.getpid(), "url": self._server.base_url}

    def stop(self) -> None:
        self._server.stop()


def start_actors(ray: Any, count: int, pool_size: int, workers: int, max_steps: Optional[int],
                 record_dir: Optional[Path]) -> List[Any]:
    """``count`` actors, each reserving ``pool_size`` CPUs and running ``workers`` episodes at once."""
    remote_actor = ray.remote(num_cpus=pool_size, max_concurrency=max(1, workers))(EvalActor)
    return [remote_actor.remote(pool_size, max_steps, str(record_dir) if record_dir else None) for _ in range(count)]


def play_on(ray: Any, handles: Sequence[Any], jobs: Sequence[Any], workers: int) -> Iterator[Dict[str, Any]]:
    """Deal ``jobs`` to the actors, ``workers`` in flight on each; yield rows as episodes finish.

    An actor gets work once it is up (its server answers): actors still waiting for CPUs on a busy
    or autoscaling cluster, or that failed to start, hold no episode.
    """
    starting = {handle.where.remote(): handle for handle in handles}
    active: List[Any] = []
    failures: List[str] = []
    pending: Dict[Any, Any] = {}
    queue: List[Any] = list(jobs)
    load: Dict[Any, int] = {}
    while queue or pending:
        if starting:
            up, _ = ray.wait(list(starting), num_returns=len(starting), timeout=0 if active else 0.5)
            for ref in up:
                handle = starting.pop(ref)
                try:
                    ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - an actor that could not start its server
                    failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                active.append(handle)
                load[handle] = 0
            if not active:
                if not starting:
                    raise RuntimeError("no Ray actor could start: " + "; ".join(failures)[:2000])
                continue
        for handle in active:
            while queue and load[handle] < max(1, workers):
                pending[handle.run.remote(asdict(queue.pop(0)))] = handle
                load[handle] += 1
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)  # a timeout keeps Ctrl-C responsive
        for ref in ready:
            load[pending.pop(ref)] -= 1
            yield ray.get(ref)


def stop_actors(ray: Any, handles: Sequence[Any]) -> None:
    for handle in handles:
        try:
            ray.kill(handle)
        except Exception:  # noqa: BLE001 - best effort at the end of a run
            pass


def ray_rows(
    jobs: Sequence[Any], address: str, actors: Optional[int], pool_size: int, workers: int,
    max_steps: Optional[int], record_dir: Optional[Path], num_cpus: Optional[int] = None,
) -> Iterator[Dict[str, Any]]:
    """Run ``jobs`` on Ray actors; yield each row as its episode finishes.

    ``actors`` defaults to the cluster's CPUs divided by ``pool_size`` (each actor reserves
    ``pool_size`` CPUs, one per sandbox worker); ``workers`` episodes are in flight per actor.
    """
    if not jobs:
        return
    ray = init_ray(address, num_cpus)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    count = max(1, min(actors or max(1, cpus // pool_size), len(jobs)))
    handles = start_actors(ray, count, pool_size, workers, max_steps, record_dir)
    try:
        yield from play_on(ray, handles, jobs, workers)
    finally:
        stop_actors(ray, handles)


__all__ = ["EvalActor", "LOCAL", "RayUnavailable", "init_ray", "play_on", "ray_rows", "start_actors", "stop_actors"]

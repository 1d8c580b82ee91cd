"""Baseline runner: plays TraceFix episodes with an agent and prints the graders' log format.

Stdout carries exactly these lines, one each, and nothing else::

    [START] task=<task_name> env=<benchmark> model=<model_name>
    [STEP] step=<n> action=<action_str> reward=<0.00> done=<true|false> error=<msg|null>
    [END] success=<true|false> steps=<n> score=<score> rewards=<r1,r2,...,rn>

``[END]`` is always printed for an episode that printed ``[START]``: also after an exception or
Ctrl-C, with the score the environment reported (the last observation's score; 0.00 when the
episode never reached ``done``; the reason goes to stderr).  ``error`` is the environment's error for
that step, else the runner's or the agent's (an unusable model reply, a RUN_TESTS fallback, an agent
failure), on one line; ``null`` only when there was none.  ``success`` is the environment's verdict
(every test, visible and hidden, passes).  ``SUCCESS_SCORE_THRESHOLD`` (0.99) is kept for
compatibility with the earlier runner: success is also true when score >= threshold, which with
per-step costs practically never happens on its own.

Configuration (environment variables, as in the design notes):

    API_BASE_URL   OpenAI-compatible endpoint (default https://router.huggingface.co/v1)
    MODEL_NAME     model id (default Qwen/Qwen2.5-72B-Instruct)
    HF_TOKEN / API_KEY   the key (either; needed only for --agent llm)

Examples::

    python inference.py --easy                       # the LLM on the easy curated tasks
    python inference.py --agent search --hard        # the offline repair baseline, no key needed
    python inference.py --task curated/lru_cache_class --episodes 3 --env-url http://127.0.0.1:7860
    python inference.py --agent search --record runs/   # also write one trajectory file per episode

When the agent itself fails mid-episode (for example the model stays unreachable after its retries),
the runner submits the current program so that the environment reports a real score, and says so in
that step's ``error``.  Debug output (``--debug``) goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence, TextIO

from tracefix.agents.episode import ClientSession
from tracefix.agents.llm import (
    DEFAULT_API_BASE_URL,
    DEFAULT_MODEL_NAME,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    THINKING_TOKEN_LIMIT,
    api_key_from_env,
    describe_exception,
    missing_api_key,
)
from tracefix.core.constants import DIFFICULTIES, ENV_NAME, MAX_STEPS, SUCCESS_SCORE_THRESHOLD
from tracefix.models import ActionType, CodeAction, CodeObservation

API_BASE_URL = os.environ.get("API_BASE_URL") or DEFAULT_API_BASE_URL
MODEL_NAME = os.environ.get("MODEL_NAME") or DEFAULT_MODEL_NAME
BENCHMARK = ENV_NAME
MAX_ERROR_CHARS = 200
AGENT_NAMES = ("llm", "search", "random", "oracle")

log = logging.getLogger("tracefix.inference")


# ---------------------------------------------------------------------------------------------------
# The log format
# ---------------------------------------------------------------------------------------------------
def _bool(value: bool) -> str:
    return "true" if value else "false"


def _number(value: float) -> str:
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def one_line(message: Optional[str], limit: int = MAX_ERROR_CHARS) -> str:
    """``null`` for no message; otherwise the message on one line, at most ``limit`` characters."""
    if message is None:
        return "null"
    text = " ".join(str(message).split())
    if not text:
        return "null"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class GraderLog:
    """Writes the three line types to the real stdout, flushing each line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _emit(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def start(self, task: str, model: str) -> None:
        self._emit(f"[START] task={task} env={BENCHMARK} model={model}")

    def step(self, n: int, action: str, reward: float, done: bool, error: Optional[str]) -> None:
        self._emit(f"[STEP] step={n} action={action} reward={_number(reward)} done={_bool(done)} error={one_line(error)}")

    def end(self, success: bool, steps: int, score: float, rewards: Sequence[float]) -> None:
        self._emit(
            f"[END] success={_bool(success)} steps={steps} score={_number(score)} "
            f"rewards={','.join(_number(r) for r in rewards)}"
        )


# ---------------------------------------------------------------------------------------------------
# One episode
# ---------------------------------------------------------------------------------------------------
@dataclass
class EpisodeOutcome:
    task: str
    success: bool = False
    steps: int = 0
    score: float = 0.0
    rewards: list[float] = field(default_factory=list)
    done: bool = False
    error: Optional[str] = None
    interrupted: bool = False


def is_success(observation: Optional[CodeObservation], score: float) -> bool:
    """The environment's verdict; ``score >= SUCCESS_SCORE_THRESHOLD`` kept for compatibility."""
    if observation is None or not observation.done:
        return False
    return bool(observation.success) or score >= SUCCESS_SCORE_THRESHOLD


def run_episode(
    session: Any,
    agent: Any,
    task_id: str,
    model_label: str,
    out: GraderLog,
    *,
    seed: Optional[int] = None,
    max_steps: Optional[int] = None,
    on_agent_error: str = "submit",
) -> EpisodeOutcome:
    """Play one episode through ``session`` (``reset(**kw)``/``step(action)`` -> observation) and log it.

    Never raises except ``KeyboardInterrupt`` (after printing ``[END]``).
    """
    outcome = EpisodeOutcome(task=task_id)
    observation: Optional[CodeObservation] = None
    out.start(task_id, model_label)
    try:
        reset_kwargs: dict[str, Any] = {"task_id": task_id}
        if seed is not None:
            reset_kwargs["seed"] = seed
        if max_steps is not None:
            reset_kwargs["max_steps"] = max_steps
        observation = session.reset(**reset_kwargs)
        agent.reset(observation)
        while not observation.done:
            runner_error: Optional[str] = None
            try:
                action = agent.act(observation)
                agent_error = getattr(agent, "last_error", None)
            except Exception as exc:  # noqa: BLE001 - the agent failed; end the episode properly
                reason = describe_exception(exc) if not str(exc).startswith("LLM") else " ".join(str(exc).split())
                if on_agent_error != "submit":
                    raise
                log.error("agent failed: %s; submitting the current program", reason)
                action = CodeAction(action_type=ActionType.SUBMIT)
                agent_error = None
                runner_error = f"runner: agent failed ({reason}); submitted the current code"
            observation = session.step(action)
            reward = float(observation.reward or 0.0)
            outcome.steps += 1
            outcome.rewards.append(reward)
            error = observation.error or runner_error or agent_error
            if error:
                outcome.error = one_line(error)
            out.step(outcome.steps, action.short(), reward, observation.done, error)
            log.debug("step %d: %s -> %s", outcome.steps, action.short(), observation.message)
    except KeyboardInterrupt:
        outcome.interrupted = True
        outcome.error = "interrupted (Ctrl-C)"
        raise
    except Exception as exc:  # noqa: BLE001 - reported, then [END]
        outcome.interrupted = True
        outcome.error = f"runner: {describe_exception(exc)}"
        log.error("episode %s stopped: %s", task_id, outcome.error)
    finally:
        outcome.done = bool(observation is not None and observation.done)
        if observation is not None and observation.score is not None:
            outcome.score = float(observation.score)
        outcome.success = is_success(observation, outcome.score)
        if not outcome.done:
            print(
                f"episode {task_id} ended before done ({outcome.error or 'stopped'}); "
                f"score reported as {outcome.score:.2f} (the environment's last reported score)",
                file=sys.stderr,
            )
        out.end(outcome.success, outcome.steps, outcome.score, outcome.rewards)
    return outcome


# ---------------------------------------------------------------------------------------------------
# Tasks, agents, sessions
# ---------------------------------------------------------------------------------------------------
def select_tasks(args: argparse.Namespace, base_url: str) -> list[str]:
    if args.task:
        return list(args.task)
    from tracefix.client import list_tasks

    wanted = [d for d in DIFFICULTIES if getattr(args, d)]
    tasks = list_tasks(base_url, args.split)
    return [t["id"] for t in tasks if not wanted or t.get("difficulty") in wanted]


def build_agent(args: argparse.Namespace) -> tuple[Any, str]:
    """The agent and the ``model=`` label of ``[START]``."""
    if args.agent == "llm":
        from tracefix.agents.llm import LLMAgent

        agent = LLMAgent(
            model=args.model,
            base_url=args.api_base_url,
            api_key=api_key_from_env(),
            temperature=args.temperature,
            thinking_tokens=args.thinking_tokens,
            timeout_s=args.llm_timeout,
            retries=args.llm_retries,
            backoff_s=args.llm_backoff,
        )
        return agent, agent.model
    from tracefix.agents import make_agent

    options: dict[str, Any] = {"seed": args.seed} if args.agent == "random" else {}
    return make_agent(args.agent, **options), args.agent


@contextlib.contextmanager
def environment_url(env_url: Optional[str]) -> Iterator[str]:
    if env_url:
        yield env_url
        return
    from tracefix.server.embedded import embedded_server

    with embedded_server() as url:
        log.info("embedded server at %s", url)
        yield url


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run TraceFix episodes with an agent, printing the graders' [START]/[STEP]/[END] lines on stdout.",
    )
    parser.add_argument("--easy", action="store_true", help="easy tasks")
    parser.add_argument("--medium", action="store_true", help="medium tasks")
    parser.add_argument("--hard", action="store_true", help="hard tasks (flags combine; none: every task)")
    parser.add_argument("--debug", action="store_true", help="debug output on stderr")
    parser.add_argument("--task", action="append", metavar="ID", help="a task id (repeatable); overrides the difficulty flags")
    parser.add_argument("--episodes", type=int, default=1, metavar="N", help="episodes per task (default 1)")
    parser.add_argument("--env-url", default=None, metavar="URL", help="TraceFix server (default: start an embedded one on 127.0.0.1)")
    parser.add_argument("--agent", choices=AGENT_NAMES, default="llm", help="llm (default), search, random or oracle (privileged)")
    parser.add_argument("--split", default="curated", help="split to draw tasks from (default curated)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode (then +1 per episode)")
    parser.add_argument("--max-steps", type=int, default=MAX_STEPS, help=f"step budget per episode (default {MAX_STEPS})")
    parser.add_argument("--model", default=os.environ.get("MODEL_NAME") or DEFAULT_MODEL_NAME,
                        help="model name (default: $MODEL_NAME or %(default)s)")
    parser.add_argument("--api-base-url", default=os.environ.get("API_BASE_URL") or DEFAULT_API_BASE_URL,
                        help="OpenAI-compatible endpoint (default: $API_BASE_URL or %(default)s)")
    parser.add_argument("--temperature", type=float, default=0.2,
                        help="sampling temperature of the model (--agent llm; default %(default)s)")
    parser.add_argument("--thinking-tokens", type=int, default=THINKING_TOKEN_LIMIT, help="reasoning budget (default %(default)s)")
    parser.add_argument("--llm-timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per model request (default %(default)s)")
    parser.add_argument("--llm-retries", type=int, default=DEFAULT_RETRIES, help="retries on rate limits and timeouts (default %(default)s)")
    parser.add_argument("--llm-backoff", type=float, default=1.0, help="first retry delay in seconds, doubled each time")
    parser.add_argument("--env-timeout", type=float, default=120.0, help="seconds to wait for each environment reply")
    parser.add_argument("--on-agent-error", choices=("submit", "stop"), default="submit",
                        help="when the agent fails mid-episode: submit the current program (default) or stop")
    parser.add_argument("--record", default=None, metavar="DIR",
                        help="record each episode as a trajectory file in DIR (paths go to stderr; stdout is unchanged)")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None, stdout: Optional[TextIO] = None) -> int:
    args = parse_args(argv)
    out = GraderLog(stdout or sys.stdout)
    # Nothing but the grader lines may reach stdout: anything else printed from here on goes to stderr.
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.debug:
        logging.getLogger("tracefix").setLevel(logging.WARNING)
    previous_sigterm = None
    with contextlib.suppress(ValueError):  # not in the main thread
        previous_sigterm = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        problem = missing_api_key() if args.agent == "llm" else None
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        try:
            agent, label = build_agent(args)
        except Exception as exc:  # noqa: BLE001
            print(f"error: could not create the {args.agent} agent: {describe_exception(exc)}", file=sys.stderr)
            return 2
        return _run(args, agent, label, out)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        sys.stdout = real_stdout
        if previous_sigterm is not None:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGTERM, previous_sigterm)


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _run(args: argparse.Namespace, agent: Any, label: str, out: GraderLog) -> int:
    from tracefix.client import TraceFixEnv

    failures = 0
    started = time.perf_counter()
    with environment_url(args.env_url) as base_url:
        try:
            task_ids = select_tasks(args, base_url)
        except Exception as exc:  # noqa: BLE001
            print(f"error: could not list the tasks of split {args.split!r} at {base_url}: {describe_exception(exc)}", file=sys.stderr)
            return 2
        if not task_ids:
            print("error: no task matches the selection", file=sys.stderr)
            return 2
        episode = 0
        for task_id in task_ids:
            for _ in range(args.episodes):
                outcome = _one(args, agent, label, out, base_url, task_id, args.seed + episode, TraceFixEnv)
                episode += 1
                failures += outcome.interrupted
                print(
                    f"{task_id}: success={outcome.success} score={outcome.score:.2f} steps={outcome.steps}",
                    file=sys.stderr,
                )
    print(f"{episode} episode(s) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 1 if failures else 0


def _one(args: argparse.Namespace, agent: Any, label: str, out: GraderLog, base_url: str, task_id: str, seed: int,
         client_cls: Callable[..., Any]) -> EpisodeOutcome:
    """One episode on its own WebSocket session; a connection failure still yields [START] + [END]."""
    client = None
    try:
        client = client_cls(base_url=base_url, message_timeout_s=args.env_timeout).sync()
        client.connect()
    except Exception as exc:  # noqa: BLE001
        out.start(task_id, label)
        print(f"episode {task_id}: could not connect to {base_url}: {describe_exception(exc)}", file=sys.stderr)
        out.end(False, 0, 0.0, [])
        return EpisodeOutcome(task=task_id, error=describe_exception(exc), interrupted=True)
    session: Any = ClientSession(client)
    if args.record:
        from tracefix.trajectory import RecordingSession

        session = RecordingSession.wrap(session, args.record, source="inference", agent=agent, agent_name=args.agent,
                                        model=label if args.agent == "llm" else None)
    outcome: Optional[EpisodeOutcome] = None
    try:
        outcome = run_episode(
            session, agent, task_id, label, out,
            seed=seed, max_steps=args.max_steps, on_agent_error=args.on_agent_error,
        )
        return outcome
    finally:
        if args.record:
            error = outcome.error if outcome is not None and outcome.interrupted else None
            path = session.close(error if outcome is not None else "interrupted")
            print(f"episode {task_id}: trajectory {path or '(no step was played: nothing recorded)'}", file=sys.stderr)
        with contextlib.suppress(Exception):
            client.close()


if __name__ == "__main__":
    sys.exit(main())

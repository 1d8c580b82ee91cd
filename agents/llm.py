"""The ``llm`` agent: an OpenAI-compatible chat model choosing one JSON action per turn.

Every call goes through the ``openai`` client (Hugging Face router, vLLM, TGI, Ollama, OpenAI...).
Robustness, in the order it applies:

* transient failures (rate limits, timeouts, connection errors, 5xx) are retried with exponential
  backoff (``Retry-After`` honoured); when they persist, or on a permanent error (401, 404...),
  :class:`LLMError` is raised and the caller decides (``inference.py`` ends the episode cleanly);
* the reply is parsed by :func:`tracefix.agents.parsing.parse_action` (fenced, think-tagged,
  single-quoted or truncated JSON) and validated against :class:`CodeAction`;
* an unusable reply gets one repair retry that quotes the validation error; if that fails too the
  agent falls back to RUN_TESTS and records why in :attr:`LLMAgent.last_error`, which the runner logs
  as that step's error.
"""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Any, Callable, Optional

from tracefix.agents.base import Agent
from tracefix.agents.parsing import ActionParseError, parse_action
from tracefix.agents.prompting import build_messages, render_observation, repair_message
from tracefix.core.constants import DEFAULT_API_BASE_URL, DEFAULT_MODEL_NAME, THINKING_TOKEN_LIMIT
from tracefix.models import ActionType, CodeAction, CodeObservation

log = logging.getLogger("tracefix.agents.llm")

ACTION_TOKEN_ALLOWANCE = 1024
"""Completion tokens on top of the thinking budget, so that a REPLACE_LINES block fits."""
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_RETRIES = 3
DEFAULT_HISTORY_TURNS = 4

THINKING_INSTRUCTION = (
    "\n\nIf you reason before answering, keep it under {limit} tokens inside <think>...</think>; "
    "then give the JSON object."
)


class LLMError(RuntimeError):
    """The model could not be reached (after retries) or refused the request."""


def api_key_from_env(environ: Optional[dict[str, str]] = None) -> Optional[str]:
    """The API key: ``HF_TOKEN``, else ``API_KEY`` (either may be set; empty values are ignored)."""
    environ = os.environ if environ is None else environ
    for name in ("HF_TOKEN", "API_KEY"):
        value = (environ.get(name) or "").strip()
        if value:
            return value
    return None


NO_API_KEY_MESSAGE = (
    "no API key. Set HF_TOKEN or API_KEY (for a local OpenAI-compatible server any non-empty value works), "
    "or run an offline agent: --agent search | random | oracle"
)
"""The one-line refusal that ``inference.py``, ``tracefix play`` and ``tracefix eval`` print for ``--agent llm``."""


def missing_api_key(environ: Optional[dict[str, str]] = None) -> Optional[str]:
    """:data:`NO_API_KEY_MESSAGE` when no key is configured, else ``None``.

    Front ends call this before the first episode, so that a missing key stops the run at once
    instead of failing every episode.
    """
    return None if api_key_from_env(environ) else NO_API_KEY_MESSAGE


def _retry_after(exc: BaseException) -> Optional[float]:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    raw = headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _is_transient(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 425, 429) or exc.status_code >= 500
    return False


def describe_exception(exc: BaseException) -> str:
    """``ClassName: message`` on one line, short."""
    message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:200]


class LLMAgent(Agent):
    """Chat-model agent.  ``client`` may be any object with ``chat.completions.create`` (tests use a
    real ``openai.OpenAI`` pointed at a local fake server)."""

    name = "llm"

    def __init__(
        self,
        model: Optional[str] = None,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        client: Any = None,
        temperature: float = 0.2,
        thinking_tokens: int = THINKING_TOKEN_LIMIT,
        max_tokens: Optional[int] = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retries: int = DEFAULT_RETRIES,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        history_turns: int = DEFAULT_HISTORY_TURNS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model or os.environ.get("MODEL_NAME") or DEFAULT_MODEL_NAME
        self.base_url = base_url or os.environ.get("API_BASE_URL") or DEFAULT_API_BASE_URL
        self.temperature = temperature
        self.thinking_tokens = thinking_tokens
        self.max_tokens = max_tokens or thinking_tokens + ACTION_TOKEN_ALLOWANCE
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.history_turns = history_turns
        self._sleep = sleep
        self._jitter = random.Random(0)
        if client is None:
            api_key = api_key or api_key_from_env()
            if not api_key:
                raise LLMError(NO_API_KEY_MESSAGE)
            import openai

            client = openai.OpenAI(base_url=self.base_url, api_key=api_key, timeout=timeout_s, max_retries=0)
        self._client = client
        self._history: list[tuple[str, str]] = []
        self.last_error: Optional[str] = None
        self.calls = 0

    @property
    def system_prompt(self) -> str:
        from tracefix.core.prompts import SYSTEM_PROMPT

        return SYSTEM_PROMPT + THINKING_INSTRUCTION.format(limit=self.thinking_tokens)

    def reset(self, observation: CodeObservation) -> None:
        self._history = []
        self.last_error = None

    # -- the model call -------------------------------------------------------------------------------
    def complete(self, messages: list[dict[str, str]]) -> str:
        """One chat completion with retries on transient failures; raises :class:`LLMError`."""
        attempt = 0
        while True:
            self.calls += 1
            try:
                response = self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                    timeout=self.timeout_s,
                )
                choices = getattr(response, "choices", None) or []
                if not choices:
                    return ""
                message = choices[0].message
                content = getattr(message, "content", None) or ""
                reasoning = getattr(message, "reasoning_content", None)
                if not content.strip() and isinstance(reasoning, str):
                    content = reasoning
                return content
            except Exception as exc:  # noqa: BLE001 - classified below
                if not _is_transient(exc):
                    raise LLMError(f"LLM request failed: {describe_exception(exc)}") from exc
                if attempt >= self.retries:
                    raise LLMError(
                        f"LLM request failed after {attempt + 1} attempts: {describe_exception(exc)}"
                    ) from exc
                delay = min(self.max_backoff_s, self.backoff_s * (2**attempt))
                hinted = _retry_after(exc)
                if hinted is not None:
                    delay = min(self.max_backoff_s, max(delay, hinted))
                delay *= 1.0 + 0.1 * self._jitter.random()
                log.warning("LLM call failed (%s); retry %d/%d in %.1f s", describe_exception(exc), attempt + 1, self.retries, delay)
                self._sleep(delay)
                attempt += 1

    # -- acting ------------------------------------------------------------------------------------------
    def act(self, observation: CodeObservation) -> CodeAction:
        self.last_error = None
        user_text = render_observation(observation)
        history = self._history[-self.history_turns :] if self.history_turns > 0 else []
        messages = build_messages(observation, history, system_prompt=self.system_prompt)
        reply = self.complete(messages)
        try:
            action = parse_action(reply)
            self._remember(user_text, reply)
            return action
        except ActionParseError as first:
            log.info("unusable reply (%s); asking once more", first)
            retry_messages = messages + [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": repair_message(str(first))},
            ]
            second_reply = self.complete(retry_messages)
            try:
                action = parse_action(second_reply)
                self._remember(user_text, second_reply)
                return action
            except ActionParseError as second:
                self.last_error = f"model reply unusable after one repair retry ({second}); fell back to RUN_TESTS"
                fallback = CodeAction(action_type=ActionType.RUN_TESTS)
                self._remember(user_text, '{"action_type": "RUN_TESTS"}')
                return fallback

    def _remember(self, user_text: str, reply: str) -> None:
        self._history.append((user_text, reply))
        if len(self._history) > 4 * max(1, self.history_turns):
            del self._history[: -self.history_turns or None]


__all__ = [
    "ACTION_TOKEN_ALLOWANCE",
    "DEFAULT_API_BASE_URL",
    "DEFAULT_MODEL_NAME",
    "LLMAgent",
    "LLMError",
    "THINKING_TOKEN_LIMIT",
    "api_key_from_env",
    "missing_api_key",
    "NO_API_KEY_MESSAGE",
    "describe_exception",
]

"""Built-in agents.  ``make_agent(name)`` builds one by name for the CLI and ``inference.py``."""

from __future__ import annotations

from typing import Any, Callable

from tracefix.agents.base import Agent

_FACTORIES: dict[str, Callable[..., Agent]] = {}


def register(name: str, factory: Callable[..., Agent]) -> None:
    _FACTORIES[name] = factory


def _load_builtins() -> None:
    from tracefix.agents.llm import LLMAgent
    from tracefix.agents.oracle import OracleAgent
    from tracefix.agents.random_agent import RandomAgent
    from tracefix.agents.search import SearchAgent

    register("oracle", OracleAgent)
    register("random", RandomAgent)
    register("search", SearchAgent)
    register("llm", LLMAgent)


def agent_names() -> list[str]:
    if not _FACTORIES:
        _load_builtins()
    return sorted(_FACTORIES)


def make_agent(name: str, **options: Any) -> Agent:
    """Build the agent called ``name``; raises ``ValueError`` naming the available ones."""
    if not _FACTORIES:
        _load_builtins()
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown agent {name!r}; available: {', '.join(sorted(_FACTORIES))}") from None
    return factory(**options)


__all__ = ["Agent", "agent_names", "make_agent", "register"]

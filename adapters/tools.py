"""The six actions as typed Python methods that return the text a model reads after each call.

One base class serves every tool-calling surface: the TRL tool environment (:mod:`.trl_env`) and
the MCP tools (:mod:`.mcp`).  Method names and argument names are the tool names of
:mod:`tracefix.core.actions`, and each docstring *is* that action's ``ActionSpec.description()``
(set by :func:`_documented`), so the tool schema a trainer or an MCP client derives from these
methods is the action table's own text.  Subclasses only say how an action is carried out
(:meth:`ActionTools._step`); the rendering is the one the ``llm`` agent reads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, TypeVar

from pydantic import ValidationError

from tracefix.agents.prompting import TOOL_REPLY_HINT, render_observation
from tracefix.core.actions import ACTIONS, BY_TOOL, action_from_tool_call
from tracefix.models import CodeAction, CodeObservation

TOOL_NAMES: tuple[str, ...] = tuple(spec.tool for spec in ACTIONS)

_Method = TypeVar("_Method", bound=Callable[..., str])


def _documented(tool: str) -> Callable[[_Method], _Method]:
    """Give a tool method the description of its action from the table (and check the name matches)."""
    spec = BY_TOOL[tool]

    def decorate(method: _Method) -> _Method:
        if method.__name__ != spec.tool:
            raise TypeError(f"method {method.__name__!r} documents tool {spec.tool!r}")
        method.__doc__ = spec.description()
        return method

    return decorate


def render_tool_result(observation: CodeObservation) -> str:
    """What a model reads after a tool call: the ``llm`` agent's rendering, ending with 'Call one tool.'"""
    return render_observation(observation, include_description=False, reply_hint=TOOL_REPLY_HINT)


class ActionTools(ABC):
    """The six tools; a subclass implements :meth:`_step` (apply one action, return the observation)."""

    @abstractmethod
    def _step(self, action: CodeAction) -> CodeObservation:
        """Carry out ``action`` in the current episode."""

    def _call(self, tool: str, **arguments: Any) -> str:
        """Turn a tool call into an action, step, and render; bad arguments raise ``ValueError``."""
        try:
            action = action_from_tool_call(tool, arguments)
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ValueError(f"{tool}: {message}") from None
        return render_tool_result(self._step(action))

    @_documented("view_code")
    def view_code(self) -> str:
        return self._call("view_code")

    @_documented("run_tests")
    def run_tests(self) -> str:
        return self._call("run_tests")

    @_documented("replace_lines")
    def replace_lines(self, start_line: int, end_line: int, new_code: str) -> str:
        return self._call("replace_lines", start_line=start_line, end_line=end_line, new_code=new_code)

    @_documented("undo_edit")
    def undo_edit(self) -> str:
        return self._call("undo_edit")

    @_documented("reset_to_original")
    def reset_to_original(self) -> str:
        return self._call("reset_to_original")

    @_documented("submit")
    def submit(self) -> str:
        return self._call("submit")


__all__ = ["ActionTools", "TOOL_NAMES", "render_tool_result"]

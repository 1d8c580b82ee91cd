"""Thin adapters that expose :class:`tracefix.core.environment.TraceFixRLGym` to other RL APIs.

Each adapter only translates; rewards, scoring and episode rules stay in the core.
"""

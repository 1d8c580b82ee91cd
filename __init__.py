"""TraceFix: an OpenEnv reinforcement-learning environment in which an agent debugs broken Python.

The top-level package stays light: importing ``tracefix`` does not import OpenEnv, FastAPI or the
sandbox.  Import what you need from its modules (``tracefix.models``, ``tracefix.client``,
``tracefix.core``, ``tracefix.tasks``, ``tracefix.sandbox``, ``tracefix.agents``).
"""

__version__ = "0.1.0"

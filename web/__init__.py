"""The web page: OpenEnv's Gradio interface at ``/web`` with a TraceFix tab (``tracefix serve --web``).

Importing this package turns Gradio's usage analytics off unless ``GRADIO_ANALYTICS_ENABLED`` is set:
a server should not report to a third party by default (and the tests never touch the network).
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def build_tracefix_tab(*args: Any, **kwargs: Any) -> Any:
    """OpenEnv's ``gradio_builder``: see :func:`tracefix.web.app.build_tracefix_tab`."""
    from tracefix.web.app import build_tracefix_tab as build

    return build(*args, **kwargs)


__all__ = ["build_tracefix_tab"]

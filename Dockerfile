# TraceFix environment server (OpenEnv), for Hugging Face Spaces or any container runtime.
FROM python:3.11-slim

# bubblewrap gives the sandbox its namespaces; without user namespaces (many container hosts)
# the sandbox falls back to its "reduced" tier (seccomp + Landlock + rlimits + unprivileged uid).
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap curl \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir uv
WORKDIR /app/env
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev

ENV PATH="/app/env/.venv/bin:$PATH" \
    PYTHONPATH="/app/env" \
    PYTHONUNBUFFERED=1

EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://localhost:7860/health || exit 1

CMD ["uvicorn", "server.app:app", "--host", "0.0.0.0", "--port", "7860", "--ws-per-message-deflate", "false"]

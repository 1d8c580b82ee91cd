"""Every reward constant, limit and default of TraceFix, in one place.

Names follow the design notes of the earlier implementation so that papers, configs and logs that
refer to them keep their meaning. Change a value here and every layer (core, server, agents, CLI,
docs generated from it) sees the same number.

Reward design in one paragraph (the README has the long form): per-step costs and penalties are paid
as they happen; the two progress bonuses (``R_RUN_TESTS``, ``R_PER_NEW_PASS``) are *advances* on the
final reward and are taken back by the terminal step, so they guide exploration without ever adding
to the return.  The return of an episode is therefore ``score + penalties``: nothing but a more
correct program can make it positive.
"""

from __future__ import annotations

# --- rewards (names and values from the design notes) ---------------------------------------------
R_STEP_COST = -0.01
"""Paid on every step; the sum of these is the 'accumulated step cost' subtracted from the score."""
R_RUN_TESTS = 0.10
"""Advance paid for the first RUN_TESTS of a code version never tested before in this episode."""
R_PER_NEW_PASS = 0.05
"""Advance paid per visible test passing beyond the best count seen so far in this episode."""
R_SYNTAX_ERROR = -0.10
"""An edit that turns compiling code into code that does not compile."""
R_INVALID_LINE = -0.02
"""REPLACE_LINES with lines outside the program (or end < start); the code is left unchanged."""
R_DESTRUCTIVE_PENALTY = -0.20
"""An edit that deletes more than DESTRUCTIVE_FRACTION of the program's non-blank lines at once."""
R_UNDO_RESET = -0.10
"""UNDO_EDIT and RESET_TO_ORIGINAL: cheap to use, but not free, so they cannot be farmed."""
R_REPEAT_ACTION = -0.05
"""Anti-loop penalty: the same non-edit action type ANTI_LOOP_WINDOW times in a row, or an edit
identical to the previous action."""
R_INVALID_ACTION = -0.02
"""An edit rejected because the program would exceed MAX_CODE_LINES or MAX_CODE_CHARS; the code is
left unchanged.  (Actions after the episode ended are not penalised: they get an error, reward 0.)"""

# R_SUBMIT_ALL_PASS / R_SUBMIT_FAIL of the earlier implementation are deliberately gone: the terminal
# reward *is* the score (see ``core.scoring``), so a separate success bonus would only double-count.

# --- reward modes ---------------------------------------------------------------------------------
REWARD_SHAPED = "shaped"
"""Every reward above as it happens; the terminal step takes the advances back (the default)."""
REWARD_SCORE = "score"
"""0 on every step, the final score on the terminal step: the return is the score."""
REWARD_BINARY = "binary"
"""0 on every step, 1.0 on the terminal step iff ``success`` (every test passes), else 0."""
REWARD_MODES = (REWARD_SHAPED, REWARD_SCORE, REWARD_BINARY)
DEFAULT_REWARD_MODE = REWARD_SHAPED

# --- episode limits --------------------------------------------------------------------------------
MAX_STEPS = 50
"""Step budget; at the limit the code is evaluated exactly as a SUBMIT would."""
ANTI_LOOP_WINDOW = 3
DESTRUCTIVE_FRACTION = 0.5
CONTEXT_RADIUS = 5
"""Lines shown on each side of the last edited line in the context window."""
MAX_CODE_CHARS = 20_000
"""Largest program (after an edit) the environment accepts."""
MAX_CODE_LINES = 600
MAX_NEW_CODE_CHARS = 8_000
"""Largest ``new_code_block`` a single REPLACE_LINES may carry."""
MAX_EDIT_HISTORY = MAX_STEPS
SUCCESS_SCORE_THRESHOLD = 0.99

# --- test running ----------------------------------------------------------------------------------
MAX_OUTPUT_CHARS = 1000
"""Captured stdout/stderr kept per run (the tail), as in the notes."""
TRUNCATION_MARKER = "[... output truncated: showing the last {kept} of {total} characters ...]\n"
DEFAULT_TIMEOUT_S = 5.0
"""Wall-clock limit of one test run when the task does not set ``timeout_s``."""
MAX_TIMEOUT_S = 30.0
SYNTAX_CHECK_TIMEOUT_S = 2.0
"""Wall-clock limit of an edit's compile check (in the sandbox): honest code compiles in milliseconds."""
MAX_MESSAGE_CHARS = 400
"""Longest per-test failure message shown to the agent."""

# --- curriculum ------------------------------------------------------------------------------------
CURRICULUM_EASY_UNTIL = 1000
CURRICULUM_MEDIUM_UNTIL = 5000
DIFFICULTIES = ("easy", "medium", "hard")

# --- baseline runner (inference.py, the llm agent) -------------------------------------------------
DEFAULT_API_BASE_URL = "https://router.huggingface.co/v1"
DEFAULT_MODEL_NAME = "Qwen/Qwen2.5-72B-Instruct"
THINKING_TOKEN_LIMIT = 512
"""Reasoning budget the model is asked to stay within."""

# --- serving ---------------------------------------------------------------------------------------
ENV_NAME = "tracefix_rl"
DEFAULT_PORT = 7860
DEFAULT_HOST = "0.0.0.0"
DEFAULT_MAX_CONCURRENT_ENVS = 512
"""WebSocket sessions one server holds (``TRACEFIX_MAX_CONCURRENT_ENVS``).  Measured with
bench/load.py on 2 cores: 512 busy sessions with 0 errors, each costing the server about 0.1 MB, one
thread and one file descriptor; what a session feels is the sandbox queue (see the README's
performance section)."""
WS_PER_MESSAGE_DEFLATE = False
"""WebSocket compression on the server.  Off: each connection's zlib state (about 300 KB) made the
server's memory creep as sessions came and went (bench/soak.py: +13 MB per 2,500 episodes with it,
+1 MB without), and observations are a few KB of text."""
DEFAULT_SESSION_IDLE_TIMEOUT_S = 600.0
"""A WebSocket session with no message for this long is closed (``TRACEFIX_SESSION_IDLE_TIMEOUT_S``;
0 turns it off)."""
MAX_ERROR_ECHO_CHARS = 200
"""Longest piece of a request quoted back in an error reply: a 14 MB field gets a short excerpt."""
MAX_ERROR_REPLY_ERRORS = 20
"""Validation errors listed in one error reply (the count of the rest is given)."""
MAX_RESET_TEXT_CHARS = 255
"""Longest ``task_id``, ``split``, ``difficulty`` or ``episode_id`` accepted by ``reset`` (OpenEnv's
limit for ``episode_id``)."""

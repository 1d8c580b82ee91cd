"""The final score and the terminal reward (pure functions, so they can be tested on their own).

score       = clamp(pass_fraction - accumulated_step_cost, 0, 1)   when the program improved
            = 0                                                      otherwise
terminal    = (pass_fraction if improved else 0) - shaping_advances

``pass_fraction`` is over all tests, visible and hidden (0 on a syntax error), as in the notes.
"Improved" means the submitted program passes strictly more tests than the original buggy program
did, strictly more *hidden* tests, and at least one of the task's *decisive* hidden tests (hidden
tests the original fails on a value that must be computed, see ``tracefix.tasks.baseline``).  So a
policy that submits the original, hard-codes the answers the visible tests revealed, or makes its
process claim "True" or "no error" where it cannot compute, scores 0.  The terminal reward takes
back every shaping advance paid during the episode (``R_RUN_TESTS``, ``R_PER_NEW_PASS``), so that
the return is ``score + penalties`` whenever the score is not clamped, and never positive without
a fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tracefix.core.constants import REWARD_BINARY, REWARD_MODES, REWARD_SCORE, REWARD_SHAPED


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


@dataclass(frozen=True)
class FinalEvaluation:
    pass_fraction: float
    improved: bool
    score: float
    success: bool
    terminal_reward: float


def evaluate_submission(
    *,
    passed: int,
    total: int,
    syntax_error: bool,
    original_passed: int,
    accumulated_step_cost: float,
    shaping_advances: float,
    hidden_passed: Optional[int] = None,
    original_hidden_passed: Optional[int] = None,
    decisive_passed: Optional[int] = None,
) -> FinalEvaluation:
    """Score a submission; ``accumulated_step_cost`` is a positive magnitude, counted once.

    ``hidden_passed``/``original_hidden_passed`` and ``decisive_passed`` (how many of the task's
    decisive hidden tests pass; ``None`` when the task has none, which the verifier refuses) tighten
    "improved" as described above; without them only the total is compared.
    """
    pass_fraction = 0.0 if syntax_error or total == 0 else passed / total
    improved = not syntax_error and passed > original_passed
    if hidden_passed is not None and original_hidden_passed is not None:
        improved = improved and hidden_passed > original_hidden_passed
    if decisive_passed is not None:
        improved = improved and decisive_passed > 0
    earned = pass_fraction if improved else 0.0
    score = round(clamp(earned - accumulated_step_cost), 6)
    success = not syntax_error and total > 0 and passed == total
    return FinalEvaluation(
        pass_fraction=pass_fraction,
        improved=improved,
        score=score,
        success=success,
        terminal_reward=round(earned - shaping_advances, 6),
    )


def check_reward_mode(mode: str) -> str:
    """The canonical name of a reward mode; ``ValueError`` naming the modes for anything else."""
    name = str(mode).strip().lower()
    if name not in REWARD_MODES:
        raise ValueError(f"unknown reward_mode {mode!r}; use one of {', '.join(REWARD_MODES)}")
    return name


def mode_reward(mode: str, shaped_reward: float, *, done: bool, score: Optional[float], success: Optional[bool]) -> float:
    """One step's reward under ``mode``, from the shaped reward the environment computed.

    ``score`` and ``binary`` pay nothing until the terminal step, then the score or 1.0-iff-success:
    both keep the rule that no return is positive unless the program got more correct (the score is
    0 without improvement, and success implies improvement over a buggy original).
    """
    if mode == REWARD_SHAPED:
        return shaped_reward
    if not done:
        return 0.0
    if mode == REWARD_SCORE:
        return float(score or 0.0)
    if mode == REWARD_BINARY:
        return 1.0 if success else 0.0
    raise ValueError(f"unknown reward_mode {mode!r}")

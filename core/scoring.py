"""The final score and the terminal reward (pure functions, so they can be tested on their own).

score       = clamp(pass_fraction - accumulated_step_cost, 0, 1)   when the program improved
            = 0                                                      otherwise
terminal    = (pass_fraction if improved else 0) - shaping_advances

``pass_fraction`` is over all tests, visible and hidden (0 on a syntax error), as in the notes.
"Improved" means the submitted program passes strictly more tests than the original buggy program
did: a policy that submits the original, or any program that is no more correct, scores 0.  The
terminal reward takes back every shaping advance paid during the episode (``R_RUN_TESTS``,
``R_PER_NEW_PASS``), so that the return is ``score + penalties`` whenever the score is not clamped,
and never positive without a fix.
"""

from __future__ import annotations

from dataclasses import dataclass


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
) -> FinalEvaluation:
    """Score a submission; ``accumulated_step_cost`` is a positive magnitude, counted once."""
    pass_fraction = 0.0 if syntax_error or total == 0 else passed / total
    improved = not syntax_error and passed > original_passed
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

"""How promising a candidate edit is: a function of its kind, its prior, its line's suspiciousness
and what the failing tests show.

``rank_score`` is ``susp ** SUSP_POWER * prior ** PRIOR_POWER * OPERATOR_WEIGHT[kind] *
SYMPTOM_WEIGHT[kind/symptom]``, where the symptom (:func:`symptom_of`) says how the failing tests
fail: a value ``None`` where something was expected, an exception expected but not raised, an
exception raised, a time-out, or a wrong value.  With all weights 1 and both powers 1 it is the
original ``susp * prior``; the fitted values come from the ``train`` split of the generated corpus
(see ``bench/fit_search_ranking.py``), never from ``validation`` or ``test``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

SUSP_POWER = 4.9466
PRIOR_POWER = 2.1341
OPERATOR_WEIGHT: dict[str, float] = {
    "ALIAS": 0.9746,
    "AOR": 0.9657,
    "ARGS": 1.4056,
    "ATTR": 0.7161,
    "BASE": 1.0269,
    "BOUND": 0.5293,
    "CALL": 1.2628,
    "CALLEE": 1.0684,
    "CONST": 1.0089,
    "DELETE": 1.3246,
    "EXC": 1.4497,
    "GUARD": 0.8536,
    "HELPER": 0.9003,
    "INDEX": 0.7893,
    "LITERAL": 1.0526,
    "LOOP": 1.2079,
    "LOR": 1.6682,
    "NEG": 1.4171,
    "OFFSET": 0.927,
    "OPERANDS": 1.6694,
    "RETURN": 1.6455,
    "ROR": 0.5,
    "SELF": 1.2058,
    "SLICE": 0.9748,
    "STATE": 0.9302,
    "SWAP": 1.2438,
    "UPDATE": 0.909,
    "VAR": 0.2589,
}
"""Multiplier per edit kind (``ROR``, ``VAR``, ``RETURN`` ...); missing kinds weigh 1."""


SYMPTOM_WEIGHT: dict[str, float] = {}
"""Multiplier per ``kind/symptom`` pair (``RETURN/none``, ``EXC/missing-raise`` ...); missing pairs weigh 1."""
SYMPTOMS = ("none", "missing-raise", "exception", "timeout", "value")


def symptom_of(failures: Sequence[Any]) -> str:
    """The most telling symptom among the failing tests (in the order of :data:`SYMPTOMS`)."""
    found = set()
    for failure in failures:
        if getattr(failure, "got_none", False):
            found.add("none")
        elif getattr(failure, "expected_exception", None) and "returned normally" in getattr(failure, "message", ""):
            found.add("missing-raise")
        elif getattr(failure, "timed_out", False):
            found.add("timeout")
        elif getattr(failure, "exception", None):
            found.add("exception")
        else:
            found.add("value")
    return next((s for s in SYMPTOMS if s in found), "value")


def rank_score(operator: str, prior: float, susp: float, symptom: str = "value") -> float:
    if prior <= 0 or susp <= 0:
        return 0.0
    weight = OPERATOR_WEIGHT.get(operator, 1.0) * SYMPTOM_WEIGHT.get(f"{operator}/{symptom}", 1.0)
    return math.exp(SUSP_POWER * math.log(susp) + PRIOR_POWER * math.log(prior)) * weight

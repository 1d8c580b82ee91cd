"""Deterministic planning of mutants: candidate ``i`` of generator seed ``S`` is a pure function of both.

Candidate ``i`` mutates the seed program ``usable_seeds[i % len(usable_seeds)]`` with a random
number generator seeded by ``(S, i)`` only, so candidates can be made in any order, in any process,
and always come out the same.  This module imports nothing but the standard library and
:mod:`tracefix.corpus.mutators`, so worker processes start fast.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Optional, Sequence

from tracefix.corpus.families import FAMILY_OF
from tracefix.corpus.mutators import OPERATORS, ModuleContext, MutationError, Site, apply_sites, find_sites, normalised_ast_hash

MUTATION_WEIGHTS: tuple[float, float, float] = (0.45, 0.35, 0.20)
"""Probability of a candidate carrying 1, 2 or 3 mutations."""
SAME_SCOPE = 0.4
"""Probability that the further mutations of a candidate stay in the first one's function (when they can)."""
LINKED_SCOPE = 0.4
"""Probability that they go to *linked* functions instead: a caller or callee of the first one, or a
method of the same class (bugs that interact through the call graph; when there are such sites)."""


@dataclass(frozen=True)
class Candidate:
    index: int
    seed_index: int
    sites: tuple[Site, ...] = ()
    code: Optional[str] = None
    digest: str = ""
    reason: Optional[str] = None
    """``None`` when a mutant was made, else a drop reason (``no_site``, ``splice_rejected``, ``same_as_reference``)."""

    @property
    def operators(self) -> list[str]:
        seen: list[str] = []
        for site in self.sites:
            if site.op not in seen:
                seen.append(site.op)
        return seen


def _normalise(code: str) -> str:
    return re.sub(r"\s+", "", code)


def choose_sites(
    rng: random.Random, sites_by_op: dict[str, list[Site]], wanted: int, links: Optional[dict[str, set[str]]] = None
) -> list[Site]:
    """Pick up to ``wanted`` pairwise-disjoint sites: a bug family uniformly (unused ones first), an
    operator of that family uniformly, then a site.

    With probability :data:`SAME_SCOPE` the further sites stay in the first site's function, with
    :data:`LINKED_SCOPE` they go to functions linked to it (``links``: callers, callees, sibling
    methods), otherwise anywhere; a mode without sites falls back to anywhere.
    """
    chosen: list[Site] = []
    draw = rng.random() if wanted > 1 else 1.0
    mode = "same" if draw < SAME_SCOPE else "linked" if draw < SAME_SCOPE + LINKED_SCOPE else "any"
    for _ in range(wanted):
        options = {
            op: [s for s in sites if not any(s.overlaps(c) for c in chosen)]
            for op, sites in sites_by_op.items()
        }
        options = {op: sites for op, sites in options.items() if sites}
        if chosen and mode != "any":
            first = chosen[0].scope
            related = (links or {}).get(first, set())
            keep = (lambda s: s.scope == first) if mode == "same" else (lambda s: s.scope in related)
            narrowed = {op: [s for s in sites if keep(s)] for op, sites in options.items()}
            narrowed = {op: sites for op, sites in narrowed.items() if sites}
            options = narrowed or options
        if not options:
            break
        families: dict[str, list[str]] = {}
        for op in sorted(options):
            families.setdefault(FAMILY_OF[op], []).append(op)
        used = {FAMILY_OF[c.op] for c in chosen}
        fresh = [name for name in families if name not in used]
        family = rng.choice(sorted(fresh or families))
        op = rng.choice(families[family])
        chosen.append(rng.choice(options[op]))
    return sorted(chosen, key=lambda s: (s.start, s.end, s.op))


def make_candidate(
    generator_seed: int,
    index: int,
    seed_index: int,
    reference_code: str,
    sites_by_op: dict[str, list[Site]],
    reference_digest: str,
    weights: Sequence[float] = MUTATION_WEIGHTS,
    links: Optional[dict[str, set[str]]] = None,
) -> Candidate:
    rng = random.Random(f"tracefix-generate-v2/{generator_seed}/{index}")
    wanted = rng.choices(range(1, len(weights) + 1), weights=weights)[0]
    sites = choose_sites(rng, sites_by_op, wanted, links)
    if not sites:
        return Candidate(index, seed_index, reason="no_site")
    try:
        code = apply_sites(reference_code, sites)
    except MutationError:
        return Candidate(index, seed_index, tuple(sites), reason="splice_rejected")
    digest = normalised_ast_hash(code)
    if digest == reference_digest or _normalise(code) == _normalise(reference_code):
        return Candidate(index, seed_index, tuple(sites), code, digest, reason="same_as_reference")
    return Candidate(index, seed_index, tuple(sites), code, digest)


class CandidateMaker:
    """Makes candidates for a fixed list of seed programs, caching each program's sites."""

    def __init__(self, generator_seed: int, sources: Sequence[str], operators: Sequence[str] = tuple(OPERATORS),
                 weights: Sequence[float] = MUTATION_WEIGHTS) -> None:
        self.generator_seed = generator_seed
        self.sources = list(sources)
        self.operators = list(operators)
        self.weights = tuple(weights)
        self._sites: dict[int, dict[str, list[Site]]] = {}
        self._links: dict[int, dict[str, set[str]]] = {}
        self._digests: dict[int, str] = {}

    def sites(self, seed_index: int) -> dict[str, list[Site]]:
        if seed_index not in self._sites:
            ctx = ModuleContext(self.sources[seed_index])
            found = find_sites(self.sources[seed_index], self.operators, ctx=ctx)
            self._sites[seed_index] = {op: sites for op, sites in found.items() if sites}
            self._links[seed_index] = ctx.scope_links
            self._digests[seed_index] = normalised_ast_hash(self.sources[seed_index])
        return self._sites[seed_index]

    def make(self, index: int) -> Candidate:
        seed_index = index % len(self.sources)
        sites = self.sites(seed_index)
        return make_candidate(
            self.generator_seed, index, seed_index, self.sources[seed_index], sites, self._digests[seed_index], self.weights,
            self._links[seed_index],
        )


# -- process-pool plumbing (module-level so that 'spawn' workers can find it) -------------------------
_maker: Optional[CandidateMaker] = None


def init_worker(generator_seed: int, sources_file: str, operators: Sequence[str], weights: Sequence[float]) -> None:
    """Worker initialiser; the programs come through a file (JSON list), which keeps the pipe to the
    worker small."""
    global _maker
    with open(sources_file, "r", encoding="utf-8") as handle:
        sources = json.load(handle)
    _maker = CandidateMaker(generator_seed, sources, operators, weights)


def make_batch(indices: Sequence[int]) -> list[Candidate]:
    assert _maker is not None, "init_worker was not called"
    return [_maker.make(i) for i in indices]

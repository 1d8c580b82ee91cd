"""The domain of a seed program (string processing, graphs, ...), for the seed report and the README.

Seed authors list a seed's main subject as its *first* tag (``["graphs", "bfs", "grids"]``); this
module maps that tag to one of :data:`DOMAINS`.  A seed whose first tag is not mapped is reported
under ``other``, so a new tag shows up instead of being silently filed somewhere.
"""

from __future__ import annotations

from typing import Sequence

DOMAINS: dict[str, str] = {
    "strings-parsing": "string processing and parsing",
    "text-formatting": "text formatting",
    "numeric": "numeric code",
    "error-handling": "error handling and validation",
    "iterators-generators": "iterators and generators",
    "data-structures": "data structures",
    "stateful-classes": "classes with state and invariants",
    "recursion-dp": "recursion and dynamic programming",
    "graphs": "graphs",
    "collections": "collections manipulation",
    "simulations": "small simulations",
    "algorithms": "searching, sorting and greedy algorithms",
}

FIRST_TAG: dict[str, str] = {
    "strings": "strings-parsing", "parsing": "strings-parsing", "tokenizing": "strings-parsing",
    "encoding": "strings-parsing", "checksums": "strings-parsing", "interpreters": "strings-parsing",
    "text": "text-formatting",
    "numeric": "numeric", "dates": "numeric",
    "validation": "error-handling", "exceptions": "error-handling",
    "generators": "iterators-generators", "iterators": "iterators-generators",
    "data-structures": "data-structures",
    "classes": "stateful-classes", "state-machine": "stateful-classes",
    "dynamic-programming": "recursion-dp", "recursion": "recursion-dp",
    "graphs": "graphs",
    "collections": "collections", "intervals": "collections",
    "simulation": "simulations",
    "algorithms": "algorithms",
}


def domain_of(tags: Sequence[str]) -> str:
    """The domain of a seed from its tags (``other`` when its first tag is not mapped)."""
    if not tags:
        return "other"
    domain = FIRST_TAG.get(tags[0], "other")
    if domain == "algorithms" and ("dynamic-programming" in tags or "recursion" in tags):
        return "recursion-dp"
    return domain

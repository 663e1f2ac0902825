"""Selection rules (``rules.yaml``) and the CRDS-style Match/UseAfter algorithm.

``rules.yaml`` says, per instrument and reference type, which exposure keywords select a
file (``match``), when the type does not apply (``N/A``, ``applies``), and what the
embedded builder makes (``build``, ``when``). :func:`choose` picks, among candidate files
described by their selector values and USEAFTER, the one an rmap would: highest match
weight, then the latest USEAFTER not after the exposure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "NOT_APPLICABLE",
    "Candidate",
    "Rule",
    "RuleSet",
    "choose",
    "match_weight",
    "matches",
    "rules",
    "useafter_key",
]

NOT_APPLICABLE = "N/A"
_ZERO_WEIGHT = {"N/A", "GENERIC"}


@dataclass(frozen=True)
class Rule:
    """How one reference type of one instrument is selected and built.

    Attributes
    ----------
    instrument, reftype : str
        ``"NIRCAM"``, ``"flat"``.
    applicable : bool
        False when the type never applies to the instrument (``N/A``).
    match : tuple of str
        Exposure keywords compared with a candidate's selectors.
    applies : mapping
        keyword -> pattern; the type is N/A for exposures not matching them all.
    build : tuple of str or None
        Keywords the embedded builder makes one file per value of; None: never built.
    when : mapping
        keyword -> pattern the exposure must match for the embedded builder.
    """

    instrument: str
    reftype: str
    applicable: bool = True
    match: tuple[str, ...] = ()
    applies: Mapping[str, str] = field(default_factory=dict)
    build: tuple[str, ...] | None = None
    when: Mapping[str, str] = field(default_factory=dict)

    def is_na(self, keys: Mapping[str, Any]) -> bool:
        """True when the type does not apply to an exposure with ``keys``."""
        return not self.applicable or not matches(self.applies, keys)

    def can_build(self, keys: Mapping[str, Any]) -> bool:
        """True when the embedded builder makes this type for ``keys``."""
        return self.build is not None and matches(self.when, keys)


@dataclass(frozen=True)
class Candidate:
    """A file that selection may choose: its selectors and USEAFTER.

    ``selectors`` maps keywords to patterns (a missing keyword counts as N/A).
    """

    name: str
    selectors: Mapping[str, Any]
    useafter: str


@dataclass(frozen=True)
class RuleSet:
    """The parsed ``rules.yaml``."""

    useafter: str
    pedigree: str
    author: str
    rules: Mapping[str, Mapping[str, Rule]]
    pars: Mapping[str, tuple[str, ...]]

    def rule(self, instrument: str, reftype: str) -> Rule | None:
        """The rule for ``reftype`` of ``instrument`` (None when there is none)."""
        reftype = reftype.lower()
        if reftype.startswith("pars-"):
            keys = self.pars.get(instrument)
            if keys is None:
                return None
            return Rule(instrument, reftype, match=keys)
        return self.rules.get(instrument, {}).get(reftype)

    def reftypes(self, instrument: str) -> tuple[str, ...]:
        """The reference types with a rule for ``instrument``."""
        return tuple(self.rules.get(instrument, {}))

    @property
    def instruments(self) -> tuple[str, ...]:
        """Instruments with rules."""
        return tuple(self.rules)


def _parse_rule(instrument: str, reftype: str, spec: Any) -> Rule:
    if spec == NOT_APPLICABLE:
        return Rule(instrument, reftype, applicable=False)
    if not isinstance(spec, Mapping):
        raise ValueError(f"rules.yaml: {instrument}.{reftype} must be N/A or a mapping")
    unknown = set(spec) - {"match", "applies", "build", "when"}
    if unknown:
        raise ValueError(f"rules.yaml: {instrument}.{reftype}: unknown entries {sorted(unknown)}")
    build = spec.get("build")
    return Rule(
        instrument,
        reftype,
        match=tuple(spec.get("match", ())),
        applies=dict(spec.get("applies", {})),
        build=None if build is None else tuple(build),
        when=dict(spec.get("when", {})),
    )


def parse_rules(text: str) -> RuleSet:
    """Parse the text of a rules file."""
    doc = yaml.safe_load(text)
    parsed = {
        inst: {rt: _parse_rule(inst, rt, spec) for rt, spec in types.items()}
        for inst, types in doc["rules"].items()
    }
    return RuleSet(
        useafter=str(doc["useafter"]),
        pedigree=str(doc["pedigree"]),
        author=str(doc["author"]),
        rules=parsed,
        pars={inst: tuple(keys) for inst, keys in doc.get("pars", {}).items()},
    )


@cache
def rules() -> RuleSet:
    """The package's selection rules (``webbcal/refs/rules.yaml``)."""
    text = resources.files("webbcal.refs").joinpath("rules.yaml").read_text()
    return parse_rules(text)


def _norm(value: Any) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value).strip().upper()


def match_weight(pattern: Any, value: Any) -> int | None:
    """Weight of a selector ``pattern`` against an exposure ``value`` (None: no match).

    ``N/A`` and ``GENERIC`` (or a missing pattern) match anything with weight 0, ``ANY``
    with weight 1; ``"A|B"`` or a literal match equal values with weight 1.
    """
    if pattern is None:
        return 0
    pat = _norm(pattern).rstrip("|")
    if pat in _ZERO_WEIGHT:
        return 0
    if pat == "ANY":
        return 1
    if value is None:
        return None
    val = _norm(value)
    options = {p.strip() for p in pat.split("|")}
    return 1 if val in options else None


def matches(patterns: Mapping[str, Any], keys: Mapping[str, Any]) -> bool:
    """True when every ``keyword: pattern`` matches the exposure ``keys``."""
    return all(match_weight(p, keys.get(kw)) is not None for kw, p in patterns.items())


def useafter_key(text: str) -> str:
    """USEAFTER as a sortable ``YYYY-MM-DDThh:mm:ss`` (a space separator is accepted)."""
    text = str(text).strip().replace(" ", "T")
    if "T" not in text:
        text += "T00:00:00"
    return text[:19]


def choose(
    candidates: Iterable[Candidate],
    keys: Mapping[str, Any],
    match: Sequence[str],
    when: str | None,
) -> tuple[Candidate | None, str]:
    """The candidate an rmap would select for an exposure.

    Parameters
    ----------
    candidates : iterable of Candidate
        Files of the right instrument and reference type.
    keys : mapping
        The exposure's keys (FITS keyword -> value).
    match : sequence of str
        Keywords compared (the rule's ``match``).
    when : str or None
        The exposure's ``YYYY-MM-DDThh:mm:ss``; None takes the latest USEAFTER.

    Returns
    -------
    (Candidate or None, str)
        The choice and, when there is none, why.
    """
    best: list[Candidate] = []
    best_weight = -1
    for cand in candidates:
        weight = 0
        for kw in match:
            w = match_weight(cand.selectors.get(kw), keys.get(kw))
            if w is None:
                break
            weight += w
        else:
            if weight > best_weight:
                best, best_weight = [cand], weight
            elif weight == best_weight:
                best.append(cand)
    if not best:
        return None, "no file matches the exposure's keys"
    if when is not None:
        limit = useafter_key(when)
        dated = [c for c in best if useafter_key(c.useafter) <= limit]
        if not dated:
            first = min(useafter_key(c.useafter) for c in best)
            return None, f"the matching files are for dates from {first}, after {limit}"
        best = dated
    # latest USEAFTER wins; the name breaks ties so that the choice is deterministic
    return max(best, key=lambda c: (useafter_key(c.useafter), c.name)), ""

"""Per-topic switches (design section 10): which topics a site sees, which run silent, which are off,
and how many cards one response may carry.

The config file's `[topics]` table is the default for every caller; a `[[sites]]` entry (an issuer,
and a tenant where configured) overrides it for calls from that EHR. Each topic is `on`, `silent` or
`off`, for every hook or per hook (`{ default = "on", order-sign = "off" }`):

- `off`: the engine does not evaluate the topic (its code goes into `Inputs.skip`);
- `silent`: the card is computed and logged as silent, and not returned (a go-live trial);
- `max_cards`: a response keeps its highest-ranked cards (the engine's order: critical, warning,
  info, then the registry's), the rest are logged as capped.

A name this service does not know (topic, hook, mode) is a ValueError naming it, which the config
turns into the one line that stops the start. Topics come from the registry, hooks from the hook
table, so a new topic or hook is switchable without an edit here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

MODES = ("on", "silent", "off")
DEFAULT = "default"
MAX_CARDS = "max_cards"
# How a logged card ended: returned, computed but held back by a silent switch, cut by max_cards.
SHOWN, SILENT, CAPPED = "shown", "silent", "capped"

T = TypeVar("T")


def known_topics() -> tuple[str, ...]:
    import cards
    return cards.TOPICS


def known_hooks() -> tuple[str, ...]:
    from cds_service.protocol.contexts import HOOKS
    return tuple(HOOKS)


def check_table(table: Any) -> dict[str, Any]:
    """A `[topics]` table as the config file gives it, or a ValueError naming what is wrong."""
    if not isinstance(table, Mapping):
        raise ValueError("must be a table of topic = mode")
    topics, hooks = known_topics(), known_hooks()
    for name, value in table.items():
        if name == MAX_CARDS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{MAX_CARDS} must be a whole number of at least 1, not {value!r}")
            continue
        if name not in topics:
            raise ValueError(f"unknown topic {name!r} (known: {', '.join(topics)})")
        per_hook = value if isinstance(value, Mapping) else {DEFAULT: value}
        for hook, mode in per_hook.items():
            if hook != DEFAULT and hook not in hooks:
                raise ValueError(f"{name}: unknown hook {hook!r} (known: {DEFAULT}, {', '.join(hooks)})")
            if mode not in MODES:
                raise ValueError(f"{name}.{hook}: unknown mode {mode!r} (known: {', '.join(MODES)})")
    return dict(table)


@dataclass(frozen=True)
class Plan:
    """What one call may show: the topics not to compute, those to hold back, the cap."""

    skip: frozenset[str] = frozenset()
    silent: frozenset[str] = frozenset()
    max_cards: int | None = None

    def triage(self, kept: Sequence[tuple[str, T]]) -> dict[str, list[tuple[str, T]]]:
        """(topic, advice) pairs, in the engine's order, by what becomes of them."""
        spoken = [pair for pair in kept if pair[0] not in self.silent]
        cut = len(spoken) if self.max_cards is None else self.max_cards
        return {SHOWN: spoken[:cut], SILENT: [pair for pair in kept if pair[0] in self.silent],
                CAPPED: spoken[cut:]}


ALL_ON = Plan()


class Switchboard:
    """Plans by (issuer, tenant, hook), each built once: a call pays a dict lookup."""

    def __init__(self, default: Mapping[str, Any] | None = None,
                 sites: Mapping[tuple[str, str | None], Mapping[str, Any]] | None = None):
        self.default = default or {}
        # (issuer, tenant or None) -> that site's table; a tenant's entry is read before its issuer's.
        self.sites = sites or {}
        self._plans: dict[tuple[str | None, str | None, str], Plan] = {}

    @classmethod
    def from_settings(cls, settings) -> "Switchboard":
        return cls(settings.topics, {(site.issuer, site.tenant): site.topics for site in settings.sites})

    def plan(self, issuer: str | None, tenant: str | None, hook: str) -> Plan:
        # Keyed by the site entry that applies, not by the caller: an issuer may send any tenant.
        if (issuer, tenant) not in self.sites:
            tenant = None
            if (issuer, None) not in self.sites:
                issuer = None
        key = (issuer, tenant, hook)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = self._build(issuer, tenant, hook)
        return found

    def _build(self, issuer: str | None, tenant: str | None, hook: str) -> Plan:
        layers = [table for table in (self.sites.get((issuer, tenant)) if tenant is not None else None,
                                      self.sites.get((issuer, None)) if issuer is not None else None,
                                      self.default) if table is not None]
        modes = {topic: _mode(layers, topic, hook) for topic in known_topics()}
        cap = next((table[MAX_CARDS] for table in layers if MAX_CARDS in table), None)
        if cap is None and all(mode == "on" for mode in modes.values()):
            return ALL_ON
        return Plan(skip=frozenset(t for t, m in modes.items() if m == "off"),
                    silent=frozenset(t for t, m in modes.items() if m == "silent"), max_cards=cap)


def _mode(layers: list[Mapping[str, Any]], topic: str, hook: str) -> str:
    """The most specific layer that says anything of this topic at this hook decides."""
    for table in layers:
        entry = table.get(topic)
        if isinstance(entry, str):
            return entry
        if isinstance(entry, Mapping):
            mode = entry.get(hook, entry.get(DEFAULT))
            if mode is not None:
                return mode
    return "on"

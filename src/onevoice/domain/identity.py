"""The identity graph: typed identifiers as nodes, people as connected parts.

An event that carries several identifiers links them; ``alias`` links explicitly. The
merge rules keep the graph honest:

* two different values of a unique type (``userId``, ``crm_id``) never end up in one
  person — the merge is refused and recorded as a conflict;
* an identifier seen with more than ``max_people_per_identifier`` people (a family
  tablet, a call centre's shared phone, a junk email) is marked *shared* and stops merging;
* a person holds at most ``max_identifiers_per_profile`` identifiers;
* every merge is recorded (which event, which rule) and the older profile id survives;
  the merged-away id keeps resolving through a redirect. ``split`` undoes a merge.

:class:`IdentityGraph` works on an in-memory slice: the caller loads the nodes and
profiles a batch of events touches, calls :meth:`IdentityGraph.resolve` per event, then
writes back what :meth:`IdentityGraph.take_changes` reports.

>>> from onevoice.domain.identifiers import Identifier
>>> g = IdentityGraph(IdentityRules(), new_profile_id=iter(["p1", "p2"]).__next__)
>>> g.resolve([Identifier("anonymousId", "a1")], "m1").profile_id
'p1'
>>> g.resolve([Identifier("userId", "u1")], "m2").profile_id
'p2'
>>> r = g.resolve([Identifier("userId", "u1"), Identifier("anonymousId", "a1")], "m3")
>>> (r.profile_id, [(m.winner, m.loser, m.rule) for m in r.merges])
('p1', [('p1', 'p2', 'same_event')])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from onevoice.domain.identifiers import DEFAULT_UNIQUE_TYPES, Identifier

SAME_EVENT = "same_event"
ALIAS = "alias"


@dataclass(frozen=True, slots=True)
class IdentityRules:
    """Merge rules; each is a setting (see the configuration table in the README)."""

    unique_types: frozenset[str] = DEFAULT_UNIQUE_TYPES
    max_people_per_identifier: int = 5
    max_identifiers_per_profile: int = 100


@dataclass(slots=True)
class Node:
    """One identifier in the graph. ``key`` is its match key (hashed for personal data)."""

    key: str
    type: str
    profile_id: str
    origin_profile_id: str
    seen_with: set[str] = field(default_factory=set)
    shared: bool = False


@dataclass(slots=True)
class PersonIdentity:
    """What merge rules need to know about a person: unique ids, size, forbidden partners."""

    profile_id: str
    uniques: dict[str, str] = field(default_factory=dict)
    identifiers: list[Identifier] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)

    @property
    def n_identifiers(self) -> int:
        return len(self.identifiers)


@dataclass(frozen=True, slots=True)
class Merge:
    """Two people found to be one: ``loser`` now resolves to ``winner``."""

    winner: str
    loser: str
    rule: str
    message_id: str
    via: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """A link the rules refused, kept so the Studio and the logs can show why."""

    profile_id: str
    other_profile_id: str
    reason: str
    message_id: str
    via: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where one event belongs, and what resolving it changed."""

    profile_id: str
    created: bool
    merges: tuple[Merge, ...] = ()
    refusals: tuple[Refusal, ...] = ()


@dataclass(slots=True)
class Changes:
    """Everything to write back after a batch of resolutions."""

    nodes: list[Node]
    people: list[PersonIdentity]
    merges: list[Merge]
    refusals: list[Refusal]


class IdentityGraph:
    """An in-memory working slice of the identity graph with change tracking."""

    def __init__(
        self,
        rules: IdentityRules,
        new_profile_id: Callable[[], str],
        key_of: Callable[[Identifier], str] = str,
    ) -> None:
        self.rules = rules
        self._new_profile_id = new_profile_id
        self._key_of = key_of
        self.nodes: dict[str, Node] = {}
        self.people: dict[str, PersonIdentity] = {}
        self.redirects: dict[str, str] = {}
        self._dirty_nodes: set[str] = set()
        self._dirty_people: set[str] = set()
        self._merges: list[Merge] = []
        self._refusals: list[Refusal] = []

    # -- loading ---------------------------------------------------------------------
    def load(
        self,
        nodes: Iterable[Node],
        people: Iterable[PersonIdentity],
        redirects: Mapping[str, str] = {},
    ) -> None:
        """Add state read from the store (nodes, their people and redirects)."""
        for node in nodes:
            self.nodes.setdefault(node.key, node)
        for person in people:
            self.people.setdefault(person.profile_id, person)
        self.redirects.update(redirects)

    def key(self, identifier: Identifier) -> str:
        return self._key_of(identifier)

    def current(self, profile_id: str) -> str:
        """The surviving profile id for any id ever issued (follows merge redirects)."""
        seen = profile_id
        while seen in self.redirects:
            seen = self.redirects[seen]
        return seen

    # -- resolving -------------------------------------------------------------------
    def resolve(
        self, identifiers: Sequence[Identifier], message_id: str, *, rule: str = SAME_EVENT
    ) -> Resolution:
        """File an event carrying ``identifiers`` (strongest first) under one person."""
        unique_types = self.rules.unique_types
        target: str | None = None
        pending: list[tuple[Identifier, str]] = []
        pending_uniques: dict[str, str] = {}
        bystanders: list[Node] = []
        merges: list[Merge] = []
        refusals: list[Refusal] = []
        for identifier in identifiers:
            key = self._key_of(identifier)
            node = self.nodes.get(key)
            if node is None:
                if identifier.type in unique_types:
                    clash = target is not None and self._unique_clash(
                        target, {identifier.type: key}
                    )
                    if clash or identifier.type in pending_uniques:
                        refusals.append(
                            Refusal(target or "", "", f"{identifier.type} differs", message_id, key)
                        )
                        continue
                    pending_uniques[identifier.type] = key
                pending.append((identifier, key))
                continue
            owner = self.current(node.profile_id)
            if node.shared:
                bystanders.append(node)
                continue
            if target is None:
                if self._unique_clash(owner, pending_uniques):
                    refusals.append(
                        Refusal(owner, "", "unique identifier differs", message_id, key)
                    )
                    bystanders.append(node)
                else:
                    target = owner
                continue
            if owner == target:
                continue
            reason = self._why_not_merge(target, owner, pending_uniques, len(pending))
            if reason:
                refusals.append(Refusal(target, owner, reason, message_id, key))
                bystanders.append(node)
                continue
            merge = self._merge(target, owner, rule, message_id, key)
            merges.append(merge)
            target = merge.winner
        created = False
        if target is None:
            if bystanders and not pending:
                target = self.current(bystanders[0].profile_id)
            else:
                target = self._new_profile_id()
                self.people[target] = PersonIdentity(target)
                self._dirty_people.add(target)
                created = True
        for identifier, key in pending:
            self._attach(target, identifier, key, message_id, refusals)
        for node in bystanders:
            self._note_seen_with(node, target)
        self._merges.extend(merges)
        self._refusals.extend(refusals)
        return Resolution(target, created, tuple(merges), tuple(refusals))

    def take_changes(self) -> Changes:
        """What changed since the last call (nodes and people resolved to survivors)."""
        nodes = [self.nodes[k] for k in self._dirty_nodes]
        for node in nodes:
            node.profile_id = self.current(node.profile_id)
        people = [self.people[p] for p in self._dirty_people if p in self.people]
        changes = Changes(nodes, people, self._merges, self._refusals)
        self._dirty_nodes, self._dirty_people = set(), set()
        self._merges, self._refusals = [], []
        return changes

    # -- rules -----------------------------------------------------------------------
    def _person(self, profile_id: str) -> PersonIdentity:
        person = self.people.get(profile_id)
        if person is None:  # a person the caller did not load: treat as having no uniques
            person = self.people[profile_id] = PersonIdentity(profile_id)
        return person

    def _unique_clash(self, profile_id: str, uniques: Mapping[str, str]) -> bool:
        mine = self._person(profile_id).uniques
        return any(mine.get(t, v) != v for t, v in uniques.items())

    def _why_not_merge(
        self, target: str, other: str, pending_uniques: Mapping[str, str], n_pending: int
    ) -> str | None:
        a, b = self._person(target), self._person(other)
        if other in a.blocked or target in b.blocked:
            return "merge was undone before"
        for id_type in self.rules.unique_types:
            values = {a.uniques.get(id_type), b.uniques.get(id_type), pending_uniques.get(id_type)}
            values.discard(None)
            if len(values) > 1:
                return f"different {id_type}s never merge"
        if a.n_identifiers + b.n_identifiers + n_pending > self.rules.max_identifiers_per_profile:
            return f"more than {self.rules.max_identifiers_per_profile} identifiers"
        return None

    def _merge(self, target: str, other: str, rule: str, message_id: str, via: str) -> Merge:
        winner, loser = (target, other) if target < other else (other, target)
        kept, gone = self._person(winner), self._person(loser)
        kept.uniques.update(gone.uniques)
        kept.identifiers.extend(gone.identifiers)
        kept.blocked |= gone.blocked
        self.redirects[loser] = winner
        self._dirty_people.add(winner)
        self.people.pop(loser, None)
        self._dirty_people.discard(loser)
        return Merge(winner, loser, rule, message_id, via)

    def _attach(
        self,
        target: str,
        identifier: Identifier,
        key: str,
        message_id: str,
        refusals: list[Refusal],
    ) -> None:
        person = self._person(target)
        if person.n_identifiers >= self.rules.max_identifiers_per_profile:
            refusals.append(Refusal(target, "", "identifier cap reached", message_id, key))
            return
        self.nodes[key] = Node(key, identifier.type, target, target, {target})
        person.identifiers.append(identifier)
        if identifier.type in self.rules.unique_types:
            person.uniques[identifier.type] = key
        self._dirty_nodes.add(key)
        self._dirty_people.add(target)

    def _note_seen_with(self, node: Node, profile_id: str) -> None:
        if node.shared:
            return
        people = {self.current(p) for p in node.seen_with}
        people.add(self.current(node.profile_id))
        if profile_id in people:
            return
        people.add(profile_id)
        node.seen_with = people
        if len(people) > self.rules.max_people_per_identifier:
            node.shared = True
        self._dirty_nodes.add(node.key)


def goes_back(origin_profile_id: str, redirects: Mapping[str, str], undone: Merge) -> bool:
    """Whether a node first filed under ``origin_profile_id`` leaves with ``undone.loser``.

    ``redirects`` are the active merge edges (loser → winner). Removing the undone edge
    splits the merge tree in two; a node goes with the side its origin profile is on.

    >>> m = Merge("p1", "p2", SAME_EVENT, "m", "k")
    >>> [goes_back(p, {"p2": "p1", "p3": "p2"}, m) for p in ("p1", "p2", "p3")]
    [False, True, True]
    """
    profile_id = origin_profile_id
    while profile_id != undone.loser and profile_id in redirects:
        profile_id = redirects[profile_id]
    return profile_id == undone.loser

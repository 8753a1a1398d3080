"""Business rules read from plain English: each sentence becomes one rule of the spec.

"Rentals of the same vehicle must not overlap", "the return date is after the pickup date",
"a member can have at most 3 open loans", "an order goes from draft to submitted to
approved", "only admins can delete projects" ... A sentence that looks like a rule but names
fields the reader cannot find is reported (not guessed), with a suggestion.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from devgen.services.codegen.analyst.draft import DraftEntity, DraftRelation
from devgen.services.codegen.analyst.fields import FieldItem
from devgen.services.codegen.analyst.inflection import singularize, snake
from devgen.services.codegen.spec import GENERATED_FIELD_NAMES, SQL_RESERVED

_NP = r"[a-z][a-z'-]*(?: [a-z][a-z'-]*){0,3}?"
_ART = r"(?:(?:a|an|the|each|every|any|one) )?"
_NEG = r"(?:must not|mustn't|cannot|can't|can not|may not|should not|shouldn't|do not|don't|never)"
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "twenty": 20,
}
_TEMPORAL = {"date", "datetime"}
_NUMERIC = {"integer", "decimal"}
_START_WORDS = ("start", "begin", "from", "pickup", "pick_up", "check_in", "arrival", "opens")
_END_WORDS = ("end", "until", "to", "return", "drop", "check_out", "departure", "closes")


@dataclass
class Refusal:
    """A rule-like sentence the reader will not turn into spec, and what to write instead."""

    reason: str
    suggestion: str


@dataclass
class AuthWish:
    """What the requirement says about who may call the service."""

    mode: str | None = None
    roles: list[str] = field(default_factory=list)


Outcome = bool | Refusal


class RuleReader:
    """Reads rule sentences into the draft entities; ``read`` says whether it took one."""

    def __init__(self, entities: dict[str, DraftEntity], auth: AuthWish) -> None:
        self.entities = entities
        self.auth = auth
        self._locks: list[tuple[str, str, str, str]] = []
        self._handlers: list[Callable[[str, str], Outcome]] = [
            self._owned,
            self._role_required,
            self._auth_mode,
            self._no_overlap,
            self._count_limit,
            self._unique_together,
            self._state_chain,
            self._state_lock,
            self._computed,
            self._managed,
            self._search,
            self._range,
            self._compare,
            self._many_to_many,
        ]

    def read(self, text: str, original: str) -> Outcome:
        """Apply one sentence; True when used, a Refusal when rule-like but not usable."""
        for handler in self._handlers:
            outcome = handler(text, original)
            if outcome is not False:
                return outcome
        return False

    def claims(self, text: str) -> bool:
        """Whether ``text`` reads as a rule, so the declaration pass leaves it for later."""
        patterns = (
            self._OVERLAP,
            self._COUNT_FIELD,
            self._COUNT_CONSTANT,
            self._COUNTER,
            self._CODE,
            self._TIMESTAMPS,
            self._UNIQUE_TWICE,
            self._M2M,
            self._SUM,
        )
        return any(p.match(text) for p in patterns)

    def finish(self) -> list[tuple[str, Refusal]]:
        """Attach "an approved order cannot be changed" to its state machine, once all is read."""
        refused = []
        for entity_name, state, what, original in self._locks:
            entity = self.entities[entity_name]
            machine = next((r for r in entity.rules if r["kind"] == "state_machine"), None)
            if machine is None:
                enum = _enum_with(entity, [state])
                if enum is None:
                    refused.append((original, _no_state(entity, state)))
                    continue
                machine = entity.add_rule(
                    "state_machine",
                    original,
                    field=enum.name,
                    initial=enum.values[0],
                    transitions=_all_moves(enum.values),
                    terminal=[],
                    frozen=[],
                    undeletable=[],
                )
            if state not in _states(entity, machine):
                refused.append((original, _no_state(entity, state)))
                continue
            if state not in machine[what]:
                machine[what].append(state)
        return refused

    # -- ownership, roles, authentication -------------------------------------------------

    _OWNED = re.compile(
        rf"^(?:each|every|a|an) (?:user|member|customer|person|employee|account|client|owner) "
        rf"(?:can |may )?(?:only )?(?:sees?|views?|manages?|reads?|accesses|access|edits?|has "
        rf"access to|works? with|lists?) (?:only )?(?:their|his|her|his or her|its) own "
        rf"(?P<e>{_NP})$"
        rf"|^(?:users|members|customers|people|employees|clients) (?:can |may )?(?:only )?(?:see|"
        rf"view|manage|access|edit|list) (?:only )?their own (?P<e2>{_NP})$"
        rf"|^(?P<e3>{_NP}) (?:are|is) private to (?:their|its|the) (?:owner|creator|author|user)$"
        rf"|^(?P<e4>{_NP}) (?:belong|belongs) to the (?:user|account|person) who created (?:them|"
        rf"it)$"
        rf"|^nobody can see (?:another|someone else's|other) (?:user's |users' |people's )?"
        rf"(?P<e5>{_NP})$"
    )

    def _owned(self, text: str, original: str) -> Outcome:
        match = self._OWNED.match(text)
        if not match:
            return False
        phrase = next(g for g in match.groups() if g)
        entity = self._entity(phrase)
        if entity is None:
            return _unknown_entity(phrase)
        entity.owned = True
        self.auth.mode = "accounts"
        return True

    _ROLE = re.compile(
        r"^only (?P<role>[a-z]+(?: [a-z]+)?) (?:users |accounts )?(?:can|may|are allowed to|"
        r"are able to) (?P<rest>[a-z, ]+)$"
    )
    _VERBS = {
        "create": "create",
        "add": "create",
        "register": "create",
        "make": "create",
        "delete": "delete",
        "remove": "delete",
        "update": "update",
        "edit": "update",
        "change": "update",
        "modify": "update",
        "see": "list",
        "view": "list",
        "list": "list",
        "read": "list",
        "browse": "list",
    }
    _AUTH_ADJECTIVES = {
        "authenticated",
        "logged in",
        "logged-in",
        "signed in",
        "signed-in",
        "registered",
        "authorised",
        "authorized",
        "known",
    }

    def _role_required(self, text: str, original: str) -> Outcome:
        match = self._ROLE.match(text)
        if not match:
            return False
        role_words = match.group("role")
        adjective = next((a for a in self._AUTH_ADJECTIVES if role_words.startswith(a)), None)
        if adjective is not None:
            self.auth.mode = "accounts"
            return True
        words = match.group("rest").replace(",", " ").split()
        verbs = []
        while words and (words[0] in self._VERBS or words[0] in {"and", "or"}):
            word = words.pop(0)
            if word not in {"and", "or"}:
                verbs.append(word)
        if not verbs or not words:
            return Refusal(
                "no API operation named", "say 'only admins can create, update or delete <things>'"
            )
        operations: list[str] = []
        for verb in verbs:
            if verb not in self._VERBS:
                return Refusal(
                    f"'{verb}' is not an operation of the API",
                    "say 'only admins can create, update or delete <things>'",
                )
            operation = self._VERBS[verb]
            operations += ["list", "get"] if operation == "list" else [operation]
        phrase = " ".join(words)
        entity = self._entity(phrase)
        if entity is None:
            return _unknown_entity(phrase)
        role = snake(singularize(role_words.split()[-1]))
        self.auth.mode = "accounts"
        if role not in self.auth.roles:
            self.auth.roles.append(role)
        entity.add_rule(
            "role_required", original, operations=list(dict.fromkeys(operations)), roles=[role]
        )
        return True

    _ACCOUNTS = re.compile(
        r"\b(?:must|need to|have to|should) (?:log|sign) in\b|\bjwts?\b|\bjson web tokens?\b|"
        r"\bonly (?:authenticated|logged[- ]in|signed[- ]in|registered) [a-z]+\b|\b(?:users|"
        r"people|members) (?:register|sign up|create an account)\b|\buser accounts?\b|"
        r"\b(?:login|sign[- ]in) with (?:a )?(?:password|email)\b|\bpasswords?\b"
    )
    _STATIC = re.compile(r"\bbearer token\b|\bapi key\b|\bstatic token\b|\bshared token\b")

    def _auth_mode(self, text: str, original: str) -> Outcome:
        if self._STATIC.search(text):
            self.auth.mode = self.auth.mode or "static_token"
            return True
        if self._ACCOUNTS.search(text):
            self.auth.mode = "accounts"
            return True
        return False

    # -- intervals, counts, uniqueness ----------------------------------------------------

    _OVERLAP = re.compile(
        rf"^(?:two )?(?P<e>{_NP}) (?:of|for|on|in|at|with) (?:the same|one|a single|a given|"
        rf"an?) (?P<scope>{_NP}) {_NEG} overlap(?: in time| each other)?$"
        rf"|^(?:a|an|the same|one) (?P<scope2>{_NP}) {_NEG} (?:have|get) (?:two )?overlapping "
        rf"(?P<e2>{_NP})$"
        rf"|^(?:a|an|the same|one) (?P<scope3>{_NP}) {_NEG} be (?:booked|reserved|rented|used|"
        rf"taken) twice (?:at|for) (?:the same time|overlapping (?:dates|times|periods))$"
        rf"|^no two (?P<e4>{_NP}) (?:of|for) the same (?P<scope4>{_NP}) (?:may |can )?overlap$"
        rf"|^(?P<e5>{_NP}) {_NEG} overlap$"
    )

    def _no_overlap(self, text: str, original: str) -> Outcome:
        match = self._OVERLAP.match(text)
        if not match:
            return False
        groups = match.groupdict()
        scope_phrase = groups["scope"] or groups["scope2"] or groups["scope3"] or groups["scope4"]
        phrase = groups["e"] or groups["e2"] or groups["e4"] or groups["e5"]
        entity = self._entity(phrase) if phrase else None
        if entity is None and scope_phrase:
            scope_entity = self._entity(scope_phrase)
            children = [
                e
                for e in self.entities.values()
                if scope_entity and e.relation_to(scope_entity.name) and len(_interval(e)) == 2
            ]
            entity = children[0] if len(children) == 1 else None
        if entity is None:
            return _unknown_entity(phrase or "the records")
        bounds = _interval(entity)
        if len(bounds) != 2:
            return Refusal(
                f"{entity.name} has no start and end (two dates or times)",
                f"give {entity.name} a start and an end, e.g. 'each {entity.name} has a start "
                "date and an end date'",
            )
        scope: list[str] = []
        if scope_phrase:
            name = self._scope_name(entity, scope_phrase)
            if name is None:
                return Refusal(
                    f"{entity.name} does not refer to {scope_phrase!r}",
                    f"say 'each {entity.name} belongs to a {scope_phrase}'",
                )
            scope = [name]
        entity.add_rule("no_overlap", original, start=bounds[0], end=bounds[1], scope=scope)
        return True

    _COUNT_FIELD = re.compile(
        rf"^{_ART}(?P<p>{_NP}) {_NEG} (?:have|hold|take|get) more (?P<c>{_NP}) than (?:its|the|"
        rf"their|his|her) (?:number of )?(?P<f>{_NP})$"
        rf"|^(?:the )?(?:number of )?(?P<c2>{_NP}) (?:of|on|in|for) {_ART}(?P<p2>{_NP}) {_NEG} "
        rf"exceed (?:its|the|their) (?:number of )?(?P<f2>{_NP})$"
        rf"|^{_ART}(?P<p3>{_NP}) (?:can|may) (?:have|hold|take) (?:at most|no more than) as many "
        rf"(?P<c3>{_NP}) as (?:it has|its) (?P<f3>{_NP})$"
    )
    _COUNT_CONSTANT = re.compile(
        rf"^{_ART}(?P<p>{_NP}) (?:can|may|is allowed to) (?:only )?(?:have|hold|take|borrow|"
        rf"book|get|contain|include) (?:at most|no more than|up to|a maximum of|only) "
        rf"(?P<n>\d+|[a-z]+) (?P<c>{_NP})(?: at (?:a|the same) time| at once)?$"
        rf"|^(?:at most|no more than|up to|a maximum of) (?P<n2>\d+|[a-z]+) (?P<c2>{_NP}) "
        rf"(?:are allowed |can be )?(?:per|for each|for every|for a|in a|in each|on a) "
        rf"(?P<p2>{_NP})$"
        rf"|^{_ART}(?P<p3>{_NP}) {_NEG} (?:have|hold|take|contain) more than (?P<n3>\d+|[a-z]+) "
        rf"(?P<c3>{_NP})$"
    )

    def _count_limit(self, text: str, original: str) -> Outcome:
        match = self._COUNT_FIELD.match(text)
        if match:
            g = match.groupdict()
            parent, children, limit = (
                g["p"] or g["p2"] or g["p3"],
                g["c"] or g["c2"] or g["c3"],
                g["f"] or g["f2"] or g["f3"],
            )
            return self._limit(original, parent, children, max_field=limit)
        match = self._COUNT_CONSTANT.match(text)
        if match:
            g = match.groupdict()
            number = g["n"] or g["n2"] or g["n3"]
            count = int(number) if number.isdigit() else _NUMBER_WORDS.get(number)
            if count is None:
                return False
            parent, children = g["p"] or g["p2"] or g["p3"], g["c"] or g["c2"] or g["c3"]
            return self._limit(original, parent, children, max_count=count)
        return False

    def _limit(
        self,
        original: str,
        parent_phrase: str,
        children_phrase: str,
        *,
        max_count: int | None = None,
        max_field: str | None = None,
    ) -> Outcome:
        parent = self._entity(parent_phrase)
        words = children_phrase.split()
        child = self._entity(children_phrase)
        adjective = None
        whole = singularize(snake(children_phrase)) in self.entities
        if len(words) > 1 and not whole and self._entity(" ".join(words[1:])) is not None:
            child, adjective = self._entity(" ".join(words[1:])), words[0]
        if parent is None or child is None:
            return _unknown_entity(children_phrase if parent else parent_phrase)
        relation = child.relation_to(parent.name)
        if relation is None:
            return Refusal(
                f"{child.name} does not refer to {parent.name}",
                f"say 'each {child.name} belongs to a {parent.name}'",
            )
        attributes: dict[str, object] = {"relation": relation.name}
        if max_field is not None:
            limit = _find_field(parent, max_field)
            if limit is None or limit.type != "integer":
                return Refusal(
                    f"{parent.name} has no whole-number field {max_field!r}",
                    f"give {parent.name} a number of {max_field}",
                )
            attributes["max_field"] = limit.name
        else:
            attributes["max_count"] = max_count
        if adjective is not None:
            where = _condition_for(child, adjective)
            if where is None:
                return Refusal(
                    f"the reader cannot tell which {child.name} records are {adjective!r}",
                    f"give {child.name} a status that is one of {adjective}, ... or a flag "
                    f"'{adjective}'",
                )
            attributes["where"] = where
        child.add_rule("count_limit", original, **attributes)
        return True

    _UNIQUE_TWICE = re.compile(
        rf"^{_ART}(?P<a>{_NP}) {_NEG} (?:[a-z]+ ){{1,2}}the same (?P<b>{_NP}) (?:twice|more than "
        rf"once)(?P<now> at the same time| at once| while [a-z ]+)?$"
        rf"|^{_ART}(?P<a2>{_NP}) (?:can|may) (?:[a-z]+ ){{1,2}}(?:a|an|each|the same|any) "
        rf"(?P<b2>{_NP}) only once$"
        rf"|^(?:the )?combination of (?:the )?(?P<x>{_NP}) and (?:the )?(?P<y>{_NP}) (?:must be|"
        rf"is|should be) unique(?: (?:for|among|across) (?P<e>{_NP}))?$"
        rf"|^(?:there is|there can be|there may be) (?:only |at most )?one (?P<e2>{_NP}) (?:per|"
        rf"for each|for every) (?P<x2>{_NP}) and (?P<y2>{_NP})$"
        rf"|^(?P<e3>{_NP}) (?:must be|are) unique (?:per|by|for each) (?P<x3>{_NP}) and "
        rf"(?P<y3>{_NP})$"
    )

    def _unique_together(self, text: str, original: str) -> Outcome:
        match = self._UNIQUE_TWICE.match(text)
        if not match:
            return False
        g = match.groupdict()
        first = g["a"] or g["a2"] or g["x"] or g["x2"] or g["x3"]
        second = g["b"] or g["b2"] or g["y"] or g["y2"] or g["y3"]
        named = g["e"] or g["e2"] or g["e3"]
        candidates = [self._entity(named)] if named else list(self.entities.values())
        for entity in candidates:
            if entity is None:
                continue
            names = [self._scope_name(entity, first), self._scope_name(entity, second)]
            if None in names or names[0] == names[1]:
                continue
            attributes: dict[str, object] = {"fields": names}
            if g["now"]:
                open_field = next(
                    (
                        f
                        for f in entity.fields
                        if f.type in _TEMPORAL and not f.required and f.managed is None
                    ),
                    None,
                )
                if open_field is None:
                    return Refusal(
                        f"{entity.name} has no optional end date to tell open records",
                        f"give {entity.name} an optional returned at datetime",
                    )
                attributes["where"] = {"field": open_field.name, "op": "is_null", "value": None}
            entity.add_rule("unique_together", original, **attributes)
            return True
        return Refusal(
            f"no entity has both {first!r} and {second!r}",
            f"say 'the combination of {first} and {second} must be unique'",
        )

    # -- state machines ---------------------------------------------------------------------

    _CHAIN = re.compile(
        rf"^{_ART}(?P<e>{_NP})(?:'s status)? (?:goes|moves|changes|progresses|flows|passes|is "
        rf"moved|can go|can move) (?:from )?(?P<chain>[a-z ]+? (?:to|then|->) [a-z ,>-]+)$"
        rf"|^(?:the )?(?:status|state) of {_ART}(?P<e2>{_NP}) (?:goes|moves|changes|can change|"
        rf"can go|can move) (?:from )?(?P<chain2>[a-z ]+? (?:to|then) [a-z ,]+)$"
    )

    def _state_chain(self, text: str, original: str) -> Outcome:
        match = self._CHAIN.match(text)
        if not match:
            return False
        phrase = match.group("e") or match.group("e2")
        chain = match.group("chain") or match.group("chain2")
        entity = self._entity(phrase)
        if entity is None:
            return _unknown_entity(phrase)
        steps = [
            [snake(s) for s in re.split(r"\s+or\s+|,\s*", step.strip()) if s.strip()]
            for step in re.split(r"\s+(?:to|then|->)\s+|\s*,\s*then\s+", chain)
        ]
        states = [s for step in steps for s in step]
        enum = _enum_with(entity, states)
        if enum is None:
            return Refusal(
                f"{entity.name} has no status with the values {states}",
                f"say 'each {entity.name} has a status that is one of {', '.join(states)}'",
            )
        machine = next((r for r in entity.rules if r["kind"] == "state_machine"), None)
        if machine is None:
            machine = entity.add_rule(
                "state_machine",
                original,
                field=enum.name,
                initial=steps[0][0],
                transitions=[],
                terminal=[],
                frozen=[],
                undeletable=[],
            )
        for before, after in itertools.pairwise(steps):
            for state in before:
                move = next((t for t in machine["transitions"] if t["from"] == state), None)
                if move is None:
                    machine["transitions"].append({"from": state, "to": list(after)})
                else:
                    move["to"] += [s for s in after if s not in move["to"]]
        leaving = {t["from"] for t in machine["transitions"]}
        machine["terminal"] = [s for s in enum.values if s in states and s not in leaving]
        return True

    _LOCK = re.compile(
        rf"^(?:an?|the|once an?) (?P<state>[a-z]+(?: [a-z]+)?) (?P<e>{_NP}) {_NEG} be "
        rf"(?P<what>changed|edited|modified|updated|deleted|removed)(?: any ?more)?$"
        rf"|^(?P<e2>{_NP}) (?:that are|which are) (?P<state2>[a-z]+) {_NEG} be "
        rf"(?P<what2>changed|edited|modified|updated|deleted|removed)$"
    )

    def _state_lock(self, text: str, original: str) -> Outcome:
        match = self._LOCK.match(text)
        if not match:
            return False
        g = match.groupdict()
        phrase, state, what = g["e"] or g["e2"], g["state"] or g["state2"], g["what"] or g["what2"]
        entity = self._entity(phrase)
        if entity is None:
            return _unknown_entity(phrase)
        group = "undeletable" if what in {"deleted", "removed"} else "frozen"
        self._locks.append((entity.name, snake(state), group, original))
        return True

    # -- computed and managed fields --------------------------------------------------------

    _SUM = re.compile(
        rf"^(?:the |an? )?(?:(?P<e>{_NP})'s (?P<f>{_NP})|(?P<f2>{_NP}) of (?:a|an|the|each) "
        rf"(?P<e2>{_NP})) is (?:always )?(?:the )?(?:sum|total) of (?:the )?(?P<terms>{_NP}"
        rf"(?: (?:times|multiplied by|x) {_NP})*) (?:of|over|across|for) (?:all )?(?:its|their|the)"
        rf" (?P<child>{_NP})$"
        rf"|^(?:the |an? )?(?:(?P<e3>{_NP})'s (?P<f3>{_NP})|(?P<f4>{_NP}) of (?:a|an|the|each) "
        rf"(?P<e4>{_NP})) is (?:always )?the number of (?:its|their) (?P<child2>{_NP})$"
        rf"|^(?:the |an? )?(?:(?P<e5>{_NP})'s (?P<f5>{_NP})|(?P<f6>{_NP}) of (?:a|an|the|each) "
        rf"(?P<e6>{_NP})) is (?:always )?(?:its |the )?(?P<a>{_NP}) (?:times|multiplied by|x) "
        rf"(?:its |the )?(?P<b>{_NP})$"
    )

    def _computed(self, text: str, original: str) -> Outcome:
        match = self._SUM.match(text)
        if not match:
            return False
        g = match.groupdict()
        phrase = next(g[k] for k in ("e", "e2", "e3", "e4", "e5", "e6") if g[k])
        target = next(g[k] for k in ("f", "f2", "f3", "f4", "f5", "f6") if g[k])
        entity = self._entity(phrase)
        if entity is None:
            return _unknown_entity(phrase)
        name = snake(target)
        if name in GENERATED_FIELD_NAMES or name in SQL_RESERVED:
            name = f"{entity.name}_{name}"  # 'total' is taken by the list pages
        existing = entity.field(name)
        if existing is not None:
            entity.fields.remove(existing)
        child_phrase = g["child"] or g["child2"]
        if child_phrase:
            child = self._entity(child_phrase)
            if child is None:
                return _unknown_entity(child_phrase)
            via = child.relation_to(entity.name)
            if via is None:
                return Refusal(
                    f"{child.name} does not refer to {entity.name}",
                    f"say 'each {child.name} belongs to a {entity.name}'",
                )
            if g["child2"]:
                entity.add_rule(
                    "computed",
                    original,
                    field=name,
                    type="integer",
                    op="count",
                    terms=[],
                    child=child.name,
                    via=via.name,
                )
                return True
            source, words = child, re.split(r"\s+(?:times|multiplied by|x)\s+", g["terms"])
            op = "sum"
        else:
            source, words, child, via, op = entity, [g["a"], g["b"]], None, None, "product"
        terms = [_find_field(source, w) for w in words]
        if None in terms or any(t.type not in _NUMERIC for t in terms if t):
            return Refusal(
                f"{source.name} has no number fields {words}",
                f"give {source.name} the numbers first, e.g. 'each {source.name} has a quantity "
                "and a price'",
            )
        kind = "decimal" if any(t.type == "decimal" for t in terms if t) else "integer"
        entity.add_rule(
            "computed",
            original,
            field=name,
            type=kind,
            op=op,
            terms=[t.name for t in terms if t],
            child=child.name if child else None,
            via=via.name if via else None,
        )
        return True

    _TIMESTAMPS = re.compile(
        rf"^(?:the (?:time|date|moment) (?:when )?{_ART}(?P<e>{_NP}) (?:was|is) created(?P<u> and "
        rf"(?:last )?(?:updated|changed))? (?:is|are) (?:recorded|kept|stored|saved)"
        rf"|{_ART}(?P<e2>{_NP}) (?:records|keeps|stores|remembers|tracks) when (?:it|they) "
        rf"(?:was|were) created(?P<u2> and (?:last )?(?:updated|changed))?"
        rf"|(?P<e3>{_NP}) (?:are|is) timestamped"
        rf"|{_ART}(?P<e4>{_NP}) (?:has|keeps) (?:a )?creation (?:time|date)(?P<u4> and (?:a )?"
        rf"(?:last )?(?:update|modification) (?:time|date))?)$"
    )
    _CODE = re.compile(
        rf"^{_ART}(?P<e>{_NP}) (?:gets|receives|is given|has) an? (?:unique )?(?:random |generated "
        rf"|random generated |automatically generated )?(?P<n>\d+)[- ](?:character|letter|digit|"
        rf"char) (?P<f>{_NP})$"
    )
    _SEQUENCE = re.compile(
        rf"^(?P<e>{_NP}) are numbered(?: 1, 2, 3| sequentially| in order| consecutively)?"
        rf"(?: (?:per|within each|within their|for each|in each|inside each) (?P<p>{_NP}))?$"
    )
    _COUNTER = re.compile(
        rf"^{_ART}(?P<e>{_NP}) (?:has|keeps|counts) an? (?P<f>{_NP}) (?:counter|count)(?: that "
        rf"starts|,? starting)? (?:at|from) (?P<n>\d+)$"
    )

    def _managed(self, text: str, original: str) -> Outcome:
        match = self._TIMESTAMPS.match(text)
        if match:
            g = match.groupdict()
            phrase = g["e"] or g["e2"] or g["e3"] or g["e4"]
            entity = self._entity(phrase)
            if entity is None:
                return _unknown_entity(phrase)
            kinds = ["created_at"]
            if g["u"] or g["u2"] or g["u4"] or g["e3"]:
                kinds.append("updated_at")
            for kind in kinds:
                _managed_field(entity, kind, "datetime", {"kind": kind})
            return True
        match = self._CODE.match(text)
        if match:
            entity = self._entity(match.group("e"))
            if entity is None:
                return _unknown_entity(match.group("e"))
            length = int(match.group("n"))
            if not 4 <= length <= 64:
                return Refusal(
                    "a generated code is 4 to 64 characters", "say 'an 8-character code'"
                )
            _managed_field(
                entity, snake(match.group("f")), "string", {"kind": "code", "length": length}
            )
            return True
        match = self._SEQUENCE.match(text)
        if match:
            entity = self._entity(match.group("e"))
            if entity is None:
                return _unknown_entity(match.group("e"))
            per = None
            if match.group("p"):
                per = self._scope_name(entity, match.group("p"))
                if per is None or entity.field(per) is not None:
                    return Refusal(
                        f"{entity.name} does not refer to {match.group('p')!r}",
                        f"say 'each {entity.name} belongs to a {match.group('p')}'",
                    )
            _managed_field(entity, "number", "integer", {"kind": "sequence", "per": per})
            return True
        match = self._COUNTER.match(text)
        if match:
            entity = self._entity(match.group("e"))
            if entity is None:
                return _unknown_entity(match.group("e"))
            name = snake(match.group("f"))
            name = name if name.endswith(("count", "s")) else f"{name}_count"
            _managed_field(
                entity, name, "integer", {"kind": "counter", "start": int(match.group("n"))}
            )
            return True
        return False

    # -- search, ranges, comparisons, many-to-many ------------------------------------------

    _SEARCH = re.compile(
        rf"^(?:[a-z]+ )?(?:can |should be able to |must "
        rf"be able to )?search (?:for )?(?P<e>{_NP}) by (?:their |its |the )?(?P<fields>[a-z ,]+)$"
        rf"|^(?P<e2>{_NP}) (?:can|must|should) be searched (?:by|on) (?:their |its |the )?"
        rf"(?P<fields2>[a-z ,]+)$"
        rf"|^(?:a |the )?search (?:over|on|of) (?P<e3>{_NP}) (?:looks at|matches|uses) (?:their |"
        rf"its |the )?(?P<fields3>[a-z ,]+)$"
    )

    def _search(self, text: str, original: str) -> Outcome:
        match = self._SEARCH.match(text)
        if not match:
            return False
        g = match.groupdict()
        phrase, listed = g["e"] or g["e2"] or g["e3"], g["fields"] or g["fields2"] or g["fields3"]
        entity = self._entity(phrase)
        if entity is None:
            return _unknown_entity(phrase)
        words = [w for w in re.split(r",\s*|\s+(?:and|or)\s+", listed) if w.strip()]
        found = [_find_field(entity, w) for w in words]
        if None in found or any(
            f.type not in {"string", "text", "email", "url"} for f in found if f
        ):
            return False  # "filtered by" sentences keep their old meaning (filters)
        entity.add_rule("search", original, fields=[f.name for f in found if f])
        return True

    _RANGE = re.compile(
        rf"^(?:[a-z]+ )?(?:can |should be able to )?"
        rf"(?:find|list|filter|search|see|get|show) (?P<e>{_NP}) (?:by (?:a )?(?P<f>{_NP}) range|"
        rf"between two (?P<f2>{_NP})s|(?:under|below|over|above|cheaper than|up to) "
        rf"(?:a given |an? |some )?(?P<f3>{_NP})|within a (?P<f4>{_NP}) range|by (?P<f5>{_NP}))$"
        rf"|^(?P<e2>{_NP}) can be filtered by (?:a )?(?P<f6>{_NP}) range$"
    )

    def _range(self, text: str, original: str) -> Outcome:
        match = self._RANGE.match(text)
        if not match:
            return False
        g = match.groupdict()
        phrase = g["e"] or g["e2"]
        words = next(g[k] for k in ("f", "f2", "f3", "f4", "f5", "f6") if g[k])
        entity = self._entity(phrase)
        if entity is None:
            return False
        found = _find_field(entity, words)
        if found is None or found.type not in _NUMERIC | _TEMPORAL:
            return False
        entity.add_rule("range", original, field=found.name)
        return True

    _COMPARE = re.compile(
        rf"^(?:the |an? |each |its )?(?P<left>{_NP}) (?P<verb>must be|is|should be|has to be|comes|"
        rf"must come|must not be|cannot be|can't be|may not be|is never|is always|must always be) "
        rf"(?:strictly )?(?P<op>after|later than|before|earlier than|greater than|more than|"
        rf"higher than|larger than|bigger than|less than|lower than|smaller than|at least|at "
        rf"most|no more than|no later than|no earlier than|on or after|on or before|different "
        rf"from) (?:the |its |their )?(?P<right>{_NP})$"
    )
    _OPS = {
        "after": "gt",
        "later than": "gt",
        "greater than": "gt",
        "more than": "gt",
        "higher than": "gt",
        "larger than": "gt",
        "bigger than": "gt",
        "before": "lt",
        "earlier than": "lt",
        "less than": "lt",
        "lower than": "lt",
        "smaller than": "lt",
        "at least": "ge",
        "no earlier than": "ge",
        "on or after": "ge",
        "at most": "le",
        "no more than": "le",
        "no later than": "le",
        "on or before": "le",
        "different from": "ne",
    }
    _NEGATED = {"gt": "le", "lt": "ge", "ge": "lt", "le": "gt", "ne": "ne"}

    def _compare(self, text: str, original: str) -> Outcome:
        match = self._COMPARE.match(text)
        if not match:
            return False
        op = self._OPS[match.group("op")]
        if re.search(r"not|cannot|can't|never", match.group("verb")):
            op = self._NEGATED[op]
            if op == "ne":
                return Refusal(
                    "'must not be different from' means equal; no rule kind for it",
                    "say which field is copied from which",
                )
        left_words, right_words = match.group("left"), match.group("right")
        for entity in self.entities.values():
            left = _find_field(entity, left_words) or _find_field(
                entity, _strip_owner(entity, left_words)
            )
            right = _find_field(entity, right_words) or _find_field(
                entity, _strip_owner(entity, right_words)
            )
            if left is None or right is None or left is right:
                continue
            if _family(left) != _family(right) or _family(left) not in {"number", "date"}:
                return Refusal(
                    f"{entity.name}.{left.name} and {right.name} cannot be compared",
                    "compare two dates or two numbers",
                )
            entity.add_rule("compare", original, left=left.name, op=op, right=right.name)
            return True
        return Refusal(
            f"no entity has both {left_words!r} and {right_words!r}",
            f"declare both first, e.g. 'each booking has a {left_words} and a {right_words}'",
        )

    _M2M = re.compile(
        rf"^(?P<a>{_NP}) (?:are|is|can be) (?:used|applied|attached|assigned|added|given|linked) "
        rf"(?:on|to|in|with) many (?P<b>{_NP})$"
        rf"|^{_ART}(?P<a2>{_NP}) (?:can|may) (?:belong to|be in|be part of|appear in|be on|"
        rf"join|attend|take|enrol in|enroll in) (?:many|several|multiple|any number of) "
        rf"(?P<b2>{_NP})$"
        rf"|^(?P<a3>{_NP}) and (?P<b3>{_NP}) are (?:many[- ]to[- ]many|linked many to many)$"
        rf"|^{_ART}(?P<a4>{_NP}) (?:has|can have) many (?P<b4>{_NP}) and (?:a|an|each) "
        rf"{_NP} (?:has|can have|belongs to|is used on|appears in) many {_NP}$"
    )

    def _many_to_many(self, text: str, original: str) -> Outcome:
        match = self._M2M.match(text)
        if not match:
            return False
        g = match.groupdict()
        first = self._entity(g["a"] or g["a2"] or g["a3"] or g["a4"])
        second = self._entity(g["b"] or g["b2"] or g["b3"] or g["b4"])
        if first is None or second is None or first is second:
            return _unknown_entity(g["b"] or g["b2"] or g["b3"] or g["b4"] or "")
        # "many tags" on a post made each tag point at one post; a link replaces that.
        for one, other in ((first, second), (second, first)):
            stale = one.relation_to(other.name)
            if stale is not None:
                one.relations.remove(stale)
        owner, target = (second, first) if g["a"] else (first, second)
        name = _plural(target.name)
        if not any(r.name == name for r in owner.relations):
            owner.relations.append(
                DraftRelation(
                    name, target.name, required=False, on_delete="cascade", kind="many_to_many"
                )
            )
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _entity(self, phrase: str | None) -> DraftEntity | None:
        if not phrase:
            return None
        phrase = phrase.split("'s ")[0].removesuffix("'s")
        words = [w for w in phrase.split() if w not in {"a", "an", "the", "each", "every", "all"}]
        for start in range(len(words)):
            name = singularize(snake(" ".join(words[start:])))
            if name in self.entities:
                return self.entities[name]
        return None

    def _scope_name(self, entity: DraftEntity, phrase: str) -> str | None:
        """A field or many_to_one relation of ``entity`` that ``phrase`` names."""
        target = self._entity(phrase)
        if target is not None:
            relation = entity.relation_to(target.name)
            if relation is not None:
                return relation.name
        relation = next(
            (
                r
                for r in entity.relations
                if r.kind == "many_to_one" and r.name == singularize(snake(phrase))
            ),
            None,
        )
        if relation is not None:
            return relation.name
        found = _find_field(entity, phrase)
        return found.name if found else None


def _plural(name: str) -> str:
    from devgen.services.codegen.analyst.inflection import pluralize

    return pluralize(name)


def _find_field(entity: DraftEntity, words: str) -> FieldItem | None:
    words = re.sub(r"^(?:the|its|their|a|an) ", "", words.strip())
    name = snake(words)
    candidates = [
        name,
        f"number_of_{name}",
        singularize(name),
        name.replace("_date", "_on"),
        f"{name}_at",
        f"{name}_date",
        name.removesuffix("_date"),
        name.removesuffix("_time"),
        name.removesuffix("_timestamp"),
    ]
    for candidate in candidates:
        found = entity.field(candidate)
        if found is not None:
            return found
    return None


def _strip_owner(entity: DraftEntity, words: str) -> str:
    for prefix in (f"{entity.name.replace('_', ' ')}'s ", f"{entity.name.replace('_', ' ')} "):
        if words.startswith(prefix):
            return words.removeprefix(prefix)
    return re.sub(rf" of (?:a|an|the|each) {entity.name.replace('_', ' ')}$", "", words)


def _family(item: FieldItem) -> str:
    if item.type in _NUMERIC:
        return "number"
    if item.type in _TEMPORAL:
        return "date"
    return item.type


def _interval(entity: DraftEntity) -> list[str]:
    """The start and end fields of an entity's interval: the first fitting pair."""
    candidates = [f for f in entity.fields if f.type in _TEMPORAL and f.managed is None]
    starts = [f for f in candidates if any(w in f.name for w in _START_WORDS)]
    ends = [f for f in candidates if any(w in f.name for w in _END_WORDS) and f not in starts]
    if starts and ends:
        return [starts[0].name, ends[0].name]
    return [f.name for f in candidates[:2]] if len(candidates) == 2 else []


def _condition_for(entity: DraftEntity, adjective: str) -> dict[str, object] | None:
    value = snake(adjective)
    flag = entity.field(value)
    if flag is not None and flag.type == "boolean":
        return {"field": flag.name, "op": "eq", "value": True}
    enum = _enum_with(entity, [value])
    if enum is not None:
        return {"field": enum.name, "op": "eq", "value": value}
    if value in {"open", "active", "current", "unreturned", "outstanding", "ongoing"}:
        closing = next(
            (
                f
                for f in entity.fields
                if f.type in _TEMPORAL and not f.required and f.managed is None
            ),
            None,
        )
        if closing is not None:
            return {"field": closing.name, "op": "is_null", "value": None}
    return None


def _enum_with(entity: DraftEntity, states: list[str]) -> FieldItem | None:
    return next(
        (f for f in entity.fields if f.type == "enum" and all(s in f.values for s in states)),
        None,
    )


def _states(entity: DraftEntity, machine: dict[str, object]) -> list[str]:
    enum = entity.field(str(machine["field"]))
    return enum.values if enum else []


def _all_moves(values: list[str]) -> list[dict[str, object]]:
    return [{"from": v, "to": [o for o in values if o != v]} for v in values]


def _no_state(entity: DraftEntity, state: str) -> Refusal:
    return Refusal(
        f"{entity.name} has no status with the value {state!r}",
        f"say 'each {entity.name} has a status that is one of {state}, ...'",
    )


def _unknown_entity(phrase: str) -> Refusal:
    return Refusal(
        f"{phrase!r} is not an entity of the requirement",
        f"describe it first, e.g. 'each {singularize(snake(phrase)) or 'thing'} has a name'",
    )


def _managed_field(entity: DraftEntity, name: str, kind: str, managed: dict[str, object]) -> None:
    existing = entity.field(name)
    if existing is not None:
        entity.fields.remove(existing)
    entity.fields.append(FieldItem(name=name, type=kind, required=True, managed=managed))

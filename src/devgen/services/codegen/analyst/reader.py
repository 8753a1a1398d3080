"""The English reader: sentence by sentence, a requirement becomes a draft and then a spec.

Deterministic (regular expressions and a small grammar, no model): it finds entities, fields,
relations, operations, filters, auth and business rules, and lists every sentence or phrase
it could not use, with the reason, instead of guessing silently.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from devgen.services.codegen.analyst.draft import DraftEntity, DraftRelation
from devgen.services.codegen.analyst.fields import (
    FieldItem,
    ItemError,
    ManyItem,
    RelationItem,
    parse_item,
)
from devgen.services.codegen.analyst.grammar import (
    ACTIVE_SEARCH,
    ACTOR_SENTENCE,
    AUTH_OFF,
    AUTH_ON,
    BELONG_SENTENCE,
    CASCADE_SENTENCE,
    DECLARATION,
    DELETING_SENTENCE,
    FLAG_SENTENCE,
    GENERIC_WORDS,
    INTRO_ADJECTIVES,
    INTRO_SENTENCE,
    LINK_SENTENCE,
    MANY_MENTION,
    NAME_LABEL,
    NAME_SENTENCE,
    OPERATION_VERBS,
    OPERATIONS_SENTENCE,
    PASSIVE_SENTENCE,
    PLURAL_DECLARATION,
    READ_ONLY,
    RESTRICT_SENTENCE,
    SEARCH_KEYWORD,
    STORY_SENTENCE,
)
from devgen.services.codegen.analyst.inflection import pluralize, singularize, snake
from devgen.services.codegen.analyst.result import AnalysisError, AnalysisResult, Unparsed
from devgen.services.codegen.analyst.rules import AuthWish, Refusal, RuleReader
from devgen.services.codegen.analyst.stories import derive_user_stories
from devgen.services.codegen.analyst.text import (
    ENUM_CLAUSE,
    Sentence,
    split_items,
    split_sentences,
)
from devgen.services.codegen.spec import (
    GENERATED_ENTITY_NAMES,
    GENERATED_FIELD_NAMES,
    SQL_RESERVED,
    NotImplementedSentence,
    Operation,
    SpecValidationError,
    UserStory,
    validate_spec,
)


class EnglishReader:
    """One reading of one requirement; ``read`` runs the passes in order."""

    def __init__(self, requirement: str) -> None:
        self.sentences = split_sentences(requirement)
        self.entities: dict[str, DraftEntity] = {}
        self.unparsed: list[Unparsed] = []
        self.assumptions: list[str] = []
        self.name: str | None = None
        self.heading_name: str | None = None
        self.intro_name: str | None = None
        self.description = ""
        self.auth = AuthWish()
        self.rules = RuleReader(self.entities, self.auth)
        self.refused: list[NotImplementedSentence] = []
        self.actor = "user"
        self.explicit_stories: list[UserStory] = []

    def read(self) -> AnalysisResult:
        if not self.sentences:
            raise AnalysisError("the requirement is empty")
        for name in self._discover_entities():
            self.entities[name] = DraftEntity(name)
        if not self.entities:
            for sentence in self.sentences:
                self._other(sentence)
            raise AnalysisError(
                "no entity found. Describe the data with sentences such as 'Each book has a "
                "title, an author and a publication year' or 'A loan links a book and a "
                "member'.",
                sorted(self.unparsed, key=lambda u: u.sentence),
            )
        later = []
        for sentence in self.sentences:
            if not self._declaration(sentence):
                later.append(sentence)
        for sentence in later:
            self._other(sentence)
        return self._result()

    def _discover_entities(self) -> list[str]:
        """Entity names, in order of first mention anywhere in the text."""
        found: set[str] = set()
        for sentence in self.sentences:
            text = sentence.text
            if _is_auth(text) or self.rules.claims(text):
                continue
            for pattern in (DECLARATION, LINK_SENTENCE, BELONG_SENTENCE, PASSIVE_SENTENCE):
                match = pattern.match(text)
                if not match:
                    continue
                found.add(_noun(match.group("subj")))
                groups = match.groupdict()
                if groups.get("target"):
                    found.add(_noun(groups["target"]))
                if groups.get("targets"):
                    found.update(_noun(t) for t in _link_targets(groups["targets"]))
                rest = ENUM_CLAUSE.sub("", groups.get("rest") or "")
                found.update(_noun(m.group("noun")) for m in MANY_MENTION.finditer(rest))
                break
            else:
                plural = PLURAL_DECLARATION.match(text)
                if plural and _is_plural_phrase(plural.group("subj")):
                    found.add(_noun(plural.group("subj")))
                    rest = ENUM_CLAUSE.sub("", plural.group("rest"))
                    found.update(_noun(m.group("noun")) for m in MANY_MENTION.finditer(rest))
        found.discard("")
        return sorted(found, key=self._first_mention)

    def _first_mention(self, name: str) -> tuple[int, int, str]:
        words = name.replace("_", " ")
        plural = pluralize(name).replace("_", " ")
        pattern = re.compile(rf"\b(?:{re.escape(words)}|{re.escape(plural)})\b")
        for sentence in self.sentences:
            match = pattern.search(sentence.text)
            if match:
                return sentence.index, match.start(), name
        return len(self.sentences), 0, name

    def _declaration(self, sentence: Sentence) -> bool:
        """Read a sentence that declares fields or relations; False if it is not one."""
        text = sentence.text
        if _is_auth(text) or self.rules.claims(text):
            return False
        match = LINK_SENTENCE.match(text)
        if match:
            entity = self.entities[_noun(match.group("subj"))]
            targets = _link_targets(match.group("targets"))
            if len(targets) < 2:
                self._skip(sentence, sentence.original, "a link needs two entities")
                return True
            for target in targets:
                name = _noun(target)
                entity.add_relation(name, name, required=True)
            self._fields(sentence, entity, match.group("rest"))
            return True
        for pattern in (BELONG_SENTENCE, PASSIVE_SENTENCE):
            match = pattern.match(text)
            if match:
                entity = self.entities[_noun(match.group("subj"))]
                target = _noun(match.group("target"))
                verb = match.group("verb")
                optional = verb.startswith(("may", "can", "optionally"))
                entity.add_relation(target, target, required=not optional)
                self._fields(sentence, entity, match.group("rest"))
                return True
        match = DECLARATION.match(text)
        if match:
            entity = self.entities[_noun(match.group("subj"))]
            optional = match.group("verb").startswith(("may", "can", "might", "optionally"))
            self._fields(sentence, entity, match.group("rest"), optional=optional)
            return True
        match = PLURAL_DECLARATION.match(text)
        if match and _noun(match.group("subj")) in self.entities:
            entity = self.entities[_noun(match.group("subj"))]
            optional = match.group("verb").startswith(("may", "can"))
            self._fields(sentence, entity, match.group("rest"), optional=optional)
            return True
        return False

    def _fields(
        self, sentence: Sentence, entity: DraftEntity, rest: str | None, *, optional: bool = False
    ) -> None:
        if not rest:
            return
        known = set(self.entities)
        for text in split_items(rest):
            item_optional = optional or text.startswith("optionally ")
            item = parse_item(
                text.removeprefix("optionally "),
                known,
                optional=item_optional,
                subject=entity.name,
                written=sentence.original,
            )
            if isinstance(item, ItemError):
                self._skip(sentence, item.text, item.reason)
                continue
            if isinstance(item, ManyItem):
                child = self.entities.get(item.target)
                if child is None:
                    self._skip(sentence, text, f"{item.target!r} is not an entity")
                elif child is not entity:
                    child.add_relation(entity.name, entity.name, required=True)
                continue
            for part in item.ignored:
                self._skip(sentence, f"({part})", "note not understood; it was ignored")
            if isinstance(item, RelationItem):
                required = item.required and item.target != entity.name
                entity.add_relation(item.name, item.target, required=required)
            else:
                entity.add_field(item)

    def _other(self, sentence: Sentence) -> None:
        """Every sentence that is not a declaration; unknown ones land in ``unparsed``."""
        text = sentence.text
        if self._name(sentence) or self._story(sentence):
            return
        outcome = self.rules.read(text, sentence.original)
        if isinstance(outcome, Refusal):
            self._refuse(sentence, outcome.reason, outcome.suggestion)
            return
        if outcome:
            return
        handlers = (
            self._cascade,
            self._flag,
            self._read_only,
            self._operations,
            self._active_search,
            self._auth,
            self._actor,
        )
        for handler in handlers:
            if handler(sentence):
                return
        if sentence.heading:
            if self.heading_name is None and sentence.index == 0:
                self.heading_name = _slug(text)
            return
        if self._intro(sentence):
            return
        self._skip(
            sentence,
            sentence.original,
            "no known sentence pattern; the analyst reads entities and fields ('Each book "
            "has ...'), relations ('A loan links a book and a member'), operations, filters, "
            "sorting, uniqueness, delete behaviour and authentication",
        )

    def _name(self, sentence: Sentence) -> bool:
        match = NAME_SENTENCE.match(sentence.text) or NAME_LABEL.match(sentence.text)
        if match:
            self.name = _slug(match.group("name"))
        return match is not None

    def _story(self, sentence: Sentence) -> bool:
        match = STORY_SENTENCE.match(sentence.text)
        if not match:
            return False
        number = len(self.explicit_stories) + 1
        self.explicit_stories.append(
            UserStory(
                id=f"US-text-{number}",
                as_a=match.group("role"),
                i_want=match.group("want"),
                so_that=match.group("why") or "the requirement is met",
            )
        )
        return True

    def _cascade(self, sentence: Sentence) -> bool:
        text = sentence.text
        match = (
            CASCADE_SENTENCE.match(text)
            or DELETING_SENTENCE.match(text)
            or RESTRICT_SENTENCE.match(text)
        )
        if not match:
            return False
        parent, child = _noun(match.group("parent")), _noun(match.group("children"))
        effect = match.groupdict().get("effect") or "restrict"
        on_delete = (
            "cascade"
            if effect in {"deleted", "removed", "deletes", "removes"}
            else "restrict"
            if effect == "restrict"
            else "set_null"
        )
        child_entity = self.entities.get(child)
        relations = (
            [r for r in child_entity.relations if r.target == parent] if child_entity else []
        )
        if not relations:
            self._skip(sentence, sentence.original, f"no {child} refers to a {parent}")
            return True
        for relation in relations:
            relation.on_delete = on_delete
            if on_delete == "set_null":
                relation.required = False
        return True

    def _flag(self, sentence: Sentence) -> bool:
        match = FLAG_SENTENCE.match(sentence.text)
        if not match:
            return False
        subject, word = match.group("subject"), match.group("word")
        targets = self._resolve_field(subject)
        if not targets:
            self._skip(sentence, sentence.original, f"no field matches {subject!r}")
            return True
        for entity, item in targets:
            if isinstance(item, FieldItem):
                if word == "unique":
                    item.unique = True
                else:
                    item.required = word != "optional"
            elif word in {"optional", "required", "mandatory"}:
                item.required = word != "optional" and item.target != entity.name
            else:
                self._skip(sentence, sentence.original, "a relation cannot be unique")
        return True

    def _resolve_field(self, subject: str) -> list[tuple[DraftEntity, FieldItem | DraftRelation]]:
        """Fields meant by "the member's email", "the email of a member", "isbns"."""
        entity_name, field_words = None, subject
        possessive = re.match(r"^(?P<e>[a-z ]+?)'s? (?P<f>.+)$", subject)
        of = re.match(r"^(?P<f>.+?) of (?:a |an |the |each |every )?(?P<e>[a-z ]+)$", subject)
        if possessive:
            entity_name, field_words = _noun(possessive.group("e")), possessive.group("f")
        elif of and _noun(of.group("e")) in self.entities:
            entity_name, field_words = _noun(of.group("e")), of.group("f")
        else:
            first, _, rest = subject.partition(" ")
            if rest and _noun(first) in self.entities:
                entity_name, field_words = _noun(first), rest
        names = {snake(field_words), singularize(snake(field_words))}
        candidates = [self.entities[entity_name]] if entity_name in self.entities else []
        candidates = candidates or list(self.entities.values())
        found: list[tuple[DraftEntity, FieldItem | DraftRelation]] = []
        for entity in candidates:
            found += [(entity, f) for f in entity.fields if f.name in names]
            found += [(entity, r) for r in entity.relations if r.name in names]
        return found

    def _read_only(self, sentence: Sentence) -> bool:
        match = READ_ONLY.match(sentence.text)
        if not match:
            return False
        entity = self.entities.get(_noun(match.group("subj")))
        if entity is None:
            self._skip(sentence, sentence.original, f"unknown entity {match.group('subj')!r}")
        else:
            entity.operations = ["list", "get"]
        return True

    def _operations(self, sentence: Sentence) -> bool:
        match = OPERATIONS_SENTENCE.match(sentence.text)
        if not match:
            return False
        entity = self.entities.get(_noun(match.group("subj")))
        if entity is None:
            return False
        modal, what = match.group("modal"), match.group("what")
        negative = any(word in modal for word in ("not", "never", "n't"))
        only = "only" in modal
        parts = SEARCH_KEYWORD.split(what)
        self._apply_operations(sentence, entity, parts[0], negative=negative, only=only)
        for index in range(1, len(parts) - 1, 2):
            kind, fields_text = parts[index], parts[index + 1]
            self._apply_search(sentence, entity, kind, fields_text)
        return True

    def _apply_operations(
        self, sentence: Sentence, entity: DraftEntity, text: str, *, negative: bool, only: bool
    ) -> None:
        text = re.sub(r",?\s*(?:and|or)?\s*(?:can )?(?:be )?$", "", text.strip())
        positive_text, negative_text = text, ""
        but = re.search(r"\s*,?\s*\bbut (?:not|cannot be|can't be|never|not be)\b\s*", text)
        if but:
            positive_text, negative_text = text[: but.start()], text[but.end() :]
        positive = self._verbs(sentence, positive_text)
        negatives = self._verbs(sentence, negative_text)
        if negative:
            positive, negatives = [], positive
        if only and positive:
            entity.operations = [op.value for op in Operation if op.value in positive]
        else:
            for op in positive:
                if op not in entity.operations:
                    entity.operations.append(op)
        entity.operations = [
            op.value for op in Operation if op.value in entity.operations and op not in negatives
        ]

    def _verbs(self, sentence: Sentence, text: str) -> list[str]:
        operations = []
        for word in split_items(text.replace(" or ", ", ")) if text.strip() else []:
            word = re.sub(r"^(?:be |also |only )+", "", word.strip())
            if word in OPERATION_VERBS:
                operations.append(OPERATION_VERBS[word])
            elif word:
                self._skip(sentence, word, "not an operation (listed, viewed, created, ...)")
        return operations

    def _active_search(self, sentence: Sentence) -> bool:
        match = ACTIVE_SEARCH.match(sentence.text)
        if not match:
            return False
        entity = self.entities.get(_noun(match.group("subj")))
        if entity is None:
            return False
        parts = re.split(
            r",? and (?:also )?(filter|search|sort|order) (?:them|it) by ", match.group("fields")
        )
        self._apply_search(sentence, entity, match.group("verb"), parts[0])
        for index in range(1, len(parts) - 1, 2):
            self._apply_search(sentence, entity, parts[index], parts[index + 1])
        return True

    def _apply_search(self, sentence: Sentence, entity: DraftEntity, kind: str, text: str) -> None:
        sort = kind.startswith(("sort", "order"))
        text = re.sub(r",?\s*(?:and|or)?\s*(?:can )?(?:be )?$", "", text.strip())
        for words in split_items(text.replace(" or ", ", ")):
            words = re.sub(r"^(?:their|its|the|a|an) ", "", words.strip())
            name = snake(words)
            field_names = {f.name for f in entity.fields}
            relation_names = {r.name for r in entity.relations}
            allowed = field_names if sort else field_names | relation_names
            candidates = [name, singularize(name)]
            # "sorted by start" may name the field "start_time".
            candidates += sorted(n for n in allowed if n.startswith(f"{name}_"))[:1]
            for candidate in candidates:
                if candidate in allowed:
                    target = entity.sorting if sort else entity.filters
                    if candidate not in target:
                        target.append(candidate)
                    break
            else:
                what = "field" if sort else "field or relation"
                self._skip(sentence, words, f"no {what} {name!r} on {entity.name}")

    def _auth(self, sentence: Sentence) -> bool:
        if AUTH_OFF.search(sentence.text):
            self.auth.mode = self.auth.mode or "none"
            return True
        if AUTH_ON.search(sentence.text):
            self.auth.mode = self.auth.mode or "static_token"
            return True
        return False

    def _actor(self, sentence: Sentence) -> bool:
        match = ACTOR_SENTENCE.match(sentence.text)
        if match:
            actor = match.group("actor") or match.group("actor2")
            self.actor = " ".join(singularize(word) for word in actor.split())
        return match is not None

    def _intro(self, sentence: Sentence) -> bool:
        first = next((s for s in self.sentences if not s.heading), None)
        if sentence is not first:
            return False
        match = INTRO_SENTENCE.match(sentence.text)
        if not match:
            return False
        words = (match.group("subj") or match.group("subj2")).split()
        while len(words) > 1 and words[0] in INTRO_ADJECTIVES:
            words.pop(0)
        while len(words) > 1 and words[-1] in GENERIC_WORDS:
            words.pop()
        self.intro_name = _slug(" ".join(words))
        self.description = sentence.original.strip() + "."
        return True

    def _skip(self, sentence: Sentence, text: str, reason: str) -> None:
        self.unparsed.append(Unparsed(text=text, reason=reason, sentence=sentence.index))

    def _refuse(self, sentence: Sentence, reason: str, suggestion: str) -> None:
        self._skip(sentence, sentence.original, reason)
        self.refused.append(
            NotImplementedSentence(sentence=sentence.original, reason=reason, suggestion=suggestion)
        )

    def _not_implemented(self) -> list[NotImplementedSentence]:
        """Every sentence (or phrase) not turned into spec, with a reason and a suggestion."""
        found = {n.sentence: n for n in self.refused}
        originals = {s.index: s.original for s in self.sentences}
        for item in sorted(self.unparsed, key=lambda u: u.sentence):
            sentence = originals.get(item.sentence, item.text)
            if sentence in found:
                continue
            found[sentence] = NotImplementedSentence(
                sentence=sentence,
                reason=_short_reason(item.reason)
                if item.text == sentence
                else f"{item.text!r}: {item.reason}",
                suggestion=_suggestion(item.reason),
            )
        return list(found.values())

    def _auth_data(self) -> dict[str, Any]:
        mode = self.auth.mode or "none"
        if mode != "accounts":
            return {"mode": mode}
        roles = list(self.auth.roles)
        if not roles:
            return {"mode": mode}
        if "user" not in roles:
            roles.append("user")
        return {"mode": mode, "roles": roles, "default_role": "user"}

    def _rename_reserved_entities(self) -> None:
        """'session' or 'class' would clash with the generated code: call it ``<name>_record``."""
        renames = {
            name: f"{name}_record"
            for name in self.entities
            if name in GENERATED_ENTITY_NAMES or keyword.iskeyword(name)
        }
        for old, new in renames.items():
            self.assumptions.append(f"entity {old!r} is a reserved name; renamed to {new!r}")
        self.entities = {renames.get(name, name): entity for name, entity in self.entities.items()}
        for name, entity in self.entities.items():
            entity.name = name
            for relation in entity.relations:
                relation.target = renames.get(relation.target, relation.target)

    def _result(self) -> AnalysisResult:
        self._rename_reserved_entities()
        name = self.name or self.heading_name or self.intro_name
        if not name:
            first = next(iter(self.entities))
            name = _slug(f"{first} service")
            self.assumptions.append(f"no service name found; using {name!r}")
        data = {
            "spec_version": "1",
            "name": name,
            "description": self.description,
            "auth": self._auth_data(),
            "entities": [self._entity_data(e) for e in self.entities.values()],
        }
        for sentence, refusal in self.rules.finish():
            index = next((s.index for s in self.sentences if s.original == sentence), 0)
            self._refuse(self.sentences[index], refusal.reason, refusal.suggestion)
        data["entities"] = [self._entity_data(e) for e in self.entities.values()]
        data["not_implemented"] = [n.model_dump() for n in self._not_implemented()]
        try:
            spec = validate_spec(data)
        except SpecValidationError as exc:
            raise AnalysisError(
                f"the requirement led to an invalid spec: {exc}", self.unparsed
            ) from exc
        stories = [*derive_user_stories(spec, self.actor), *self.explicit_stories]
        data["user_stories"] = [story.model_dump(mode="json") for story in stories]
        spec = validate_spec(data)
        return AnalysisResult(
            source="text",
            spec=spec,
            unparsed=sorted(self.unparsed, key=lambda u: u.sentence),
            assumptions=self.assumptions,
        )

    def _entity_data(self, entity: DraftEntity) -> dict[str, Any]:
        if not entity.fields and not entity.relations:
            entity.fields.append(FieldItem(name="name", type="string"))
            self.assumptions.append(
                f"{entity.name}: no fields were described; added a required 'name' field"
            )
        fields = []
        for item in entity.fields:
            name = item.name
            if name in SQL_RESERVED or name in GENERATED_FIELD_NAMES or name.startswith("model_"):
                renamed = f"{entity.name}_{name}"
                self.assumptions.append(
                    f"{entity.name}: field {name!r} is a reserved name; renamed to {renamed!r}"
                )
                name = renamed
            fields.append(_field_data(item, name))
        listable = "list" in entity.operations
        default_filters = [r.name for r in entity.relations if r.kind == "many_to_one"] + [
            f.name for f in entity.fields if f.type in {"enum", "boolean"}
        ]
        default_sorting = [
            f.name
            for f in entity.fields
            if f.type in {"date", "datetime"} or f.name in {"name", "title"}
        ]
        field_names = {f["name"] for f in fields}
        return {
            "name": entity.name,
            "fields": fields,
            "relations": [
                {
                    "name": r.name,
                    "target": r.target,
                    "required": r.required,
                    "on_delete": r.on_delete,
                    "kind": r.kind,
                }
                for r in entity.relations
            ],
            "operations": entity.operations,
            "owned": entity.owned,
            "rules": entity.rules,
            "filters": _unique(entity.filters + default_filters) if listable else [],
            "sorting": [n for n in _unique(entity.sorting + default_sorting) if n in field_names]
            if listable
            else [],
        }


def _field_data(item: FieldItem, name: str) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "type": item.type, "required": item.required}
    if item.unique:
        data["unique"] = True
    for key in ("default", "min_length", "max_length", "min_value", "max_value"):
        value = getattr(item, key)
        if value is not None:
            data[key] = value
    if item.values:
        data["values"] = item.values
    if item.unit:
        data["unit"] = item.unit
    if item.pattern:
        data["pattern"] = item.pattern
    if item.managed:
        data["managed"] = item.managed
    return data


_NO_PATTERN = "no known sentence pattern"


def _short_reason(reason: str) -> str:
    if reason.startswith(_NO_PATTERN):
        return "not data, a choice or a rule the analyst reads; nothing was built from it"
    return reason


def _suggestion(reason: str) -> str:
    if reason.startswith(_NO_PATTERN):
        return (
            "rephrase as data ('each X has a, b and c'), a choice ('X is one of a, b or c'), "
            "or a rule ('the end date is after the start date', 'a member can have at most 3 "
            "loans', 'an order goes from draft to submitted')"
        )
    if "note not understood" in reason:
        return "drop the note, or say 'X is one of a, b or c' / 'X between 1 and 5'"
    return "say 'X is one of a, b or c', or describe the field as 'a <name> (number|date|text)'"


def _is_auth(text: str) -> bool:
    return bool(AUTH_ON.search(text) or AUTH_OFF.search(text))


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _noun(phrase: str) -> str:
    """Entity name of a noun phrase: no article, snake_case, singular."""
    words = phrase.strip().split()
    while words and words[0] in {"a", "an", "the", "each", "every", "one", "any", "all"}:
        words.pop(0)
    return singularize(snake(" ".join(words)))


def _is_plural_phrase(phrase: str) -> bool:
    last = phrase.split()[-1]
    return singularize(last) != last


def _link_targets(text: str) -> list[str]:
    parts = re.split(r"\s+(?:and|with|to)\s+|,\s*", text.strip())
    return [part for part in (p.strip() for p in parts) if part]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")

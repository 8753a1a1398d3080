"""User stories and acceptance criteria derived from a spec, mapped to the generated tests.

One story per entity and operation ("As a librarian, I want to create a book so that ..."),
plus the health check and, when required, the bearer token. Each criterion lists the pytest
node ids of the tests that check it; the ids come from the template engine's test plan, so a
report can tell, criterion by criterion, whether the generated tests passed.
"""

from __future__ import annotations

from collections import defaultdict

from devgen.services.codegen.engines.flowstories import flow_stories
from devgen.services.codegen.engines.rules.criteria import rule_stories
from devgen.services.codegen.engines.testplan import PlannedTest, plan_tests
from devgen.services.codegen.spec import (
    AcceptanceCriterion,
    EntitySpec,
    Operation,
    ServiceSpec,
    UserStory,
)


def derive_user_stories(spec: ServiceSpec, actor: str = "user") -> list[UserStory]:
    """The stories of ``spec`` (its own ``user_stories`` are ignored), in a stable order."""
    tests_by_criterion: dict[str, list[str]] = defaultdict(list)
    planned: list[PlannedTest] = plan_tests(spec)
    for test in planned:
        if test.criterion:
            tests_by_criterion[test.criterion].append(test.node_id)

    stories = [
        UserStory(
            id="US-health",
            as_a="operator",
            i_want="a health endpoint",
            so_that="the platform can tell that the service is up",
            acceptance_criteria=[
                AcceptanceCriterion(
                    id="AC-health",
                    text="GET /health answers 200 with status ok.",
                    test_ids=tests_by_criterion["AC-health"],
                )
            ],
        )
    ]
    if spec.auth_required:
        stories.append(
            UserStory(
                id="US-auth",
                as_a="operator",
                i_want="every API route to require a bearer token",
                so_that="only authorised clients can read or change data",
                acceptance_criteria=[
                    AcceptanceCriterion(
                        id="AC-auth-token",
                        text="A request without the token, or with a wrong one, answers 401.",
                        test_ids=tests_by_criterion["AC-auth-token"],
                    )
                ],
            )
        )
    criteria_order = list(dict.fromkeys(t.criterion for t in planned if t.criterion))
    for entity in spec.entities:
        for operation in Operation:
            if entity.allows(operation):
                stories.append(
                    _story(spec, entity, operation, actor, criteria_order, tests_by_criterion)
                )
    # Rules, accounts and relations: each criterion names its rule (if any) and its tests.
    known = {c.id for story in stories for c in story.acceptance_criteria}
    for story in [*rule_stories(spec, actor), *flow_stories(spec, actor)]:
        criteria = [c for c in story.acceptance_criteria if c.id not in known]
        if criteria:
            stories.append(story.model_copy(update={"acceptance_criteria": criteria}))
    return stories


def _story(
    spec: ServiceSpec,
    entity: EntitySpec,
    operation: Operation,
    actor: str,
    criteria_order: list[str],
    tests: dict[str, list[str]],
) -> UserStory:
    slug = entity.name.replace("_", "-")
    prefix = f"AC-{slug}-{operation.value}"
    criteria = [
        AcceptanceCriterion(
            id=criterion,
            text=_criterion_text(spec, entity, criterion.removeprefix(f"AC-{slug}-")),
            test_ids=tests[criterion],
        )
        for criterion in criteria_order
        if criterion == prefix or criterion.startswith(f"{prefix}-")
    ]
    want, benefit = _GOALS[operation]
    words, plural = entity.name.replace("_", " "), entity.table.replace("_", " ")
    return UserStory(
        id=f"US-{slug}-{operation.value}",
        as_a=actor,
        i_want=want.format(words=words, plural=plural) + _list_detail(entity, operation),
        so_that=benefit.format(words=words, plural=plural),
        entity=entity.name,
        acceptance_criteria=criteria,
    )


_GOALS = {
    Operation.CREATE: ("to create a {words}", "new {plural} are recorded"),
    Operation.LIST: ("to list {plural}", "I can find the {plural} I need"),
    Operation.GET: ("to see a {words} by its id", "I can check its details"),
    Operation.UPDATE: ("to change a {words}", "its information stays correct"),
    Operation.DELETE: ("to delete a {words}", "{plural} that are no longer needed go away"),
}


def _list_detail(entity: EntitySpec, operation: Operation) -> str:
    if operation is not Operation.LIST:
        return ""
    detail = ""
    if entity.filters:
        detail += " filtered by " + _join(entity.filters)
    if entity.sorting:
        detail += (" and" if detail else "") + " sorted by " + _join(entity.sorting)
    return detail


def _join(names: list[str]) -> str:
    words = [name.replace("_", " ") for name in names]
    if not words:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _criterion_text(spec: ServiceSpec, entity: EntitySpec, key: str) -> str:
    words, plural = entity.name.replace("_", " "), entity.table.replace("_", " ")
    unique = _join([f.name for f in entity.fields if f.unique])
    fixed = {
        "create": f"Creating a {words} with valid data answers 201 with the stored {words}.",
        "create-validation": f"Invalid or incomplete {words} data answers 422; nothing is stored.",
        "create-unique": f"A {words} whose {unique} is already used answers 409.",
        "get": f"A stored {words} is returned by its id.",
        "get-missing": f"Asking for an unknown {words} id answers 404.",
        "list": f"{plural.capitalize()} are listed a page at a time (limit, offset) with the "
        "total count.",
        "list-filter": f"{plural.capitalize()} can be filtered by {_join(entity.filters)}.",
        "list-sort": f"{plural.capitalize()} can be sorted by {_join(entity.sorting)}, "
        "ascending or descending.",
        "update": f"Changing a {words} stores and returns the new values.",
        "update-missing": f"Changing an unknown {words} id answers 404.",
        "update-validation": f"An invalid change to a {words} answers 422 and changes nothing.",
        "update-unique": f"Changing a {words}'s {unique} to one another {words} has answers 409.",
        "delete": f"Deleting a {words} removes it (204).",
        "delete-missing": f"Deleting an unknown {words} id answers 404.",
    }
    if key in fixed:
        return fixed[key]
    operation, _, rest = key.partition("-")
    if operation == "create":
        relation = entity.relation(rest.replace("-", "_"))
        target = relation.target if relation else rest
        return f"A {words} naming a {target.replace('_', ' ')} that does not exist answers 409."
    for child in spec.entities:
        for relation in child.relations:
            if relation.target == entity.name and rest == f"{child.name}-{relation.name}".replace(
                "_", "-"
            ):
                child_words = child.name.replace("_", " ")
                return {
                    "restrict": f"A {words} that a {child_words} refers to cannot be deleted "
                    "(409).",
                    "cascade": f"Deleting a {words} also deletes the {child_words} rows that "
                    "refer to it.",
                    "set_null": f"Deleting a {words} clears {relation.column} on the "
                    f"{child_words} rows that referred to it.",
                }[relation.on_delete.value]
    return key

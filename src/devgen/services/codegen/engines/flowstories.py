"""Acceptance criteria of accounts, ownership, links and optional relations, with their tests.

These are not rules with an id (``engines/rules/criteria.py`` covers those); the analyst
appends :func:`flow_stories` to its derived user stories so the report names, for each, the
generated tests that check it.
"""

from __future__ import annotations

from devgen.services.codegen.engines.accounts import accounts_code, is_owned
from devgen.services.codegen.engines.links import links, many_to_one
from devgen.services.codegen.engines.testplan import plan_tests
from devgen.services.codegen.spec import AcceptanceCriterion, ServiceSpec, UserStory


def _criteria_texts(spec: ServiceSpec) -> dict[str, str]:
    texts: dict[str, str] = {}
    accounts = accounts_code(spec)
    if accounts is not None:
        texts |= {
            "AC-auth-register": "Anyone can register an account with an email and a password "
            "(stored only as an argon2 hash); an email holds one account.",
            "AC-auth-login": "An account signs in with its email and password and gets a "
            "signed access token; wrong credentials answer 401.",
            "AC-auth-token": "Without a valid access token the API answers 401.",
            "AC-auth-secret": "The service refuses to start without a SECRET_KEY of at least "
            "32 characters.",
        }
        if accounts.admin_role:
            texts["AC-auth-roles"] = "The first account is an admin; admins give roles."
        for entity in spec.entities:
            if is_owned(entity):
                key = f"AC-{entity.name.replace('_', '-')}-owned"
                plural = entity.table.replace("_", " ")
                texts[key] = (
                    f"Each account sees and changes only its own {plural}; another "
                    "account's answers 404."
                )
    for link in links(spec):
        key = f"AC-{link.source}-{link.name}-link".replace("_", "-")
        texts[key] = (
            f"{link.source_plural.replace('_', ' ').capitalize()} and their {link.name} are "
            "linked and unlinked, listed both ways; deleting either side deletes its links."
        )
    for entity in spec.entities:
        for relation in many_to_one(entity):
            if not relation.required:
                key = f"AC-{entity.name}-{relation.name}-optional".replace("_", "-")
                texts[key] = (
                    f"A {entity.name.replace('_', ' ')} may have a "
                    f"{relation.name.replace('_', ' ')} or none."
                )
    return texts


def flow_stories(spec: ServiceSpec, actor: str = "user") -> list[UserStory]:
    """Stories for accounts and relations, each criterion naming its generated tests."""
    texts = _criteria_texts(spec)
    tests: dict[str, list[str]] = {}
    for test in plan_tests(spec):
        if test.criterion in texts:
            tests.setdefault(test.criterion, []).append(test.node_id)
    groups = (
        ("US-accounts", "to sign in and keep my records to myself", "others cannot see them",
         lambda key: key.startswith("AC-auth-") or key.endswith("-owned")),
        ("US-relations", "to relate records as the requirement says", "the data means what it says",
         lambda key: key.endswith(("-link", "-optional"))),
    )  # fmt: skip
    stories = []
    for story_id, want, benefit, belongs in groups:
        criteria = [
            AcceptanceCriterion(id=key, text=text, test_ids=tests.get(key, []))
            for key, text in texts.items()
            if belongs(key) and tests.get(key)
        ]
        if criteria:
            stories.append(
                UserStory(
                    id=story_id,
                    as_a=actor,
                    i_want=want,
                    so_that=benefit,
                    acceptance_criteria=criteria,
                )
            )
    return stories


__all__ = ["flow_stories"]

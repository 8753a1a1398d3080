"""Acceptance criteria of the rules: one per rule, naming the rule and the tests that check it.

The analyst appends :func:`rule_stories` to its derived user stories, so the report can say,
rule by rule, whether the generated tests named for it passed.
"""

from __future__ import annotations

from devgen.services.codegen.engines.rules import build_rules, rules_test_file
from devgen.services.codegen.spec import AcceptanceCriterion, ServiceSpec, UserStory


def rule_stories(spec: ServiceSpec, actor: str = "user") -> list[UserStory]:
    """One story per entity that has rules or managed fields; one criterion per rule."""
    stories = []
    for entity in spec.entities:
        rules = build_rules(spec, entity)
        if not rules:
            continue
        file = rules_test_file(entity)
        words = entity.name.replace("_", " ")
        stories.append(
            UserStory(
                id=f"US-{entity.name.replace('_', '-')}-rules",
                as_a=actor,
                i_want=f"the service to enforce the rules of a {words}",
                so_that="the stored data always follows the requirement",
                entity=entity.name,
                acceptance_criteria=[
                    AcceptanceCriterion(
                        id=rule.criterion,
                        text=rule.source or rule.text,
                        rule_id=rule.id,
                        test_ids=[f"{file}::{test}" for test in rule.tests],
                    )
                    for rule in rules
                ],
            )
        )
    return stories


__all__ = ["rule_stories"]

"""English singular/plural and snake_case names, enough for entity and field names."""

from __future__ import annotations

import re

from devgen.services.codegen.spec import pluralize

_IRREGULAR_SINGULARS = {
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "mice": "mouse",
    "feet": "foot",
    "teeth": "tooth",
    "geese": "goose",
    "leaves": "leaf",
    "knives": "knife",
    "lives": "life",
    "wives": "wife",
    "shelves": "shelf",
    "halves": "half",
    "analyses": "analysis",
    "criteria": "criterion",
    "data": "data",
    "series": "series",
    "species": "species",
    "news": "news",
    "movies": "movie",
    "cookies": "cookie",
    "statuses": "status",
    "buses": "bus",
    "campuses": "campus",
    "viruses": "virus",
    "bonuses": "bonus",
    "courses": "course",
    "houses": "house",
    "purchases": "purchase",
    "expenses": "expense",
    "licenses": "license",
    "responses": "response",
    "cases": "case",
    "databases": "database",
    "releases": "release",
    "phases": "phase",
    "vases": "vase",
    "invoices": "invoice",
    "prices": "price",
    "services": "service",
    "devices": "device",
    "notices": "notice",
    "pieces": "piece",
    "places": "place",
    "spaces": "space",
    "sources": "source",
    "resources": "resource",
    "exercises": "exercise",
}
# Words that end in "s" but are singular; they stay as they are.
_SINGULAR_ENDING_IN_S = {"status", "bus", "class", "address", "canvas", "campus", "series", "news",
                         "species", "analysis", "basis", "process", "access", "business", "glass",
                         "pass", "boss", "loss", "progress", "success", "gas", "atlas", "alias",
                         "bonus", "virus", "census", "chassis", "corpus", "genus", "lens",
                         "dns", "sms", "gps", "os", "ios", "is", "yes", "this", "has", "was",
                         "its", "his", "plus", "minus", "thus", "us", "focus", "radius",
                         "stimulus", "syllabus", "thesis", "axis", "crisis", "diagnosis",
                         "hypothesis", "oasis", "synopsis", "emphasis"}  # fmt: skip


def singularize(word: str) -> str:
    """Singular of an English noun (the last word of a snake_case name)."""
    head, _, last = word.rpartition("_")
    prefix = f"{head}_" if head else ""
    return prefix + _singular_word(last)


def _singular_word(word: str) -> str:
    if word in _IRREGULAR_SINGULARS:
        return _IRREGULAR_SINGULARS[word]
    if word in _SINGULAR_ENDING_IN_S or len(word) <= 2:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    if word.endswith("ss") or word.endswith(("us", "is")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def is_plural(word: str) -> bool:
    """Whether ``word`` looks like a plural noun."""
    return singularize(word) != word or word in _IRREGULAR_SINGULARS


def snake(words: str) -> str:
    """``"Publication Year"`` -> ``publication_year``; punctuation is dropped."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", words.lower().replace("'s ", " ").replace("'", ""))
    return cleaned.strip("_")


__all__ = ["is_plural", "pluralize", "singularize", "snake"]

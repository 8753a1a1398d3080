"""Topic patterns: RabbitMQ semantics exactly, in time that no pattern can blow up."""

from __future__ import annotations

import itertools
import time

from hypothesis import given
from hypothesis import strategies as st

from devgen.kit.events.patterns import matches, overlaps


def reference(pattern: list[str], words: list[str]) -> bool:
    """RabbitMQ's topic rule word by word, by backtracking: obviously right, slow."""
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(reference(rest, words[skip:]) for skip in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and reference(rest, words[1:])


_pattern_words = st.lists(st.sampled_from(["a", "b", "*", "#"]), min_size=1, max_size=7)
# Event words include ones no pattern names, and the wildcards' own spelling.
_event_words = st.lists(st.sampled_from(["a", "b", "c", "#", "*", ""]), min_size=1, max_size=7)


@given(_pattern_words, _event_words)
def test_matching_agrees_with_the_reference_on_small_inputs(pattern, words):
    assert matches(".".join(pattern), ".".join(words)) is reference(pattern, words)


@given(st.lists(st.sampled_from(["#", "a"]), min_size=1, max_size=12), _event_words)
def test_runs_of_hash_match_like_one_hash(pattern, words):
    assert matches(".".join(pattern), ".".join(words)) is reference(pattern, words)


_short_pattern = st.lists(st.sampled_from(["a", "b", "*", "#"]), min_size=1, max_size=3)


@given(_short_pattern, _short_pattern)
def test_overlaps_is_whether_some_event_type_matches_both(first, second):
    # A shortest common match moves on in at least one pattern per word, so
    # it has at most len(first) + len(second) words; "c" stands for any word
    # neither pattern names.
    witnesses = (
        ".".join(words)
        for size in range(1, len(first) + len(second) + 1)
        for words in itertools.product("abc", repeat=size)
    )
    a, b = ".".join(first), ".".join(second)
    expected = any(matches(a, w) and matches(b, w) for w in witnesses)
    assert overlaps(a, b) is expected
    assert overlaps(b, a) is expected


def _event_types(round_: int) -> list[str]:
    # Real event types have three words; every one distinct, so no cache of
    # earlier answers hides the cost of matching.
    return [f"service{n}.entity{round_}.verb{n}" for n in range(10)]


def _seconds_per_match(pattern: str, give_up_after: float = float("inf")) -> float:
    """The best of three rounds (the least disturbed by whatever else runs).

    A round stops once it took ``give_up_after`` seconds: a backtracking
    matcher would otherwise take minutes to fail.
    """
    best = float("inf")
    for round_ in range(3):
        event_types = _event_types(round_)
        start, done = time.perf_counter(), 0
        for event_type in event_types:
            matches(pattern, event_type)
            done += 1
            if time.perf_counter() - start > give_up_after:
                break
        best = min(best, (time.perf_counter() - start) / done)
    return best


def test_hostile_patterns_cost_about_what_a_trivial_one_does():
    hostile = [
        ".".join(["#", "*"] * 49 + ["nomatch"]),
        ".".join(["*", "#"] * 49),
        ".".join(["#"] * 98 + ["nomatch"]),  # what froze the process: 98 '#' that fail
    ]
    trivial = _seconds_per_match("nomatch")
    for pattern in hostile:
        ratio = _seconds_per_match(pattern, give_up_after=trivial * 50 * 10) / trivial
        assert ratio < 50, f"{pattern[:20]}…: {ratio:.0f} times a trivial pattern"

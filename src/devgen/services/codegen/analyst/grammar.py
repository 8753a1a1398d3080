"""The English reader's grammar: the sentence patterns it knows, as regular expressions.

Each pattern is data; ``reader.py`` applies them, ``rules.py`` has the business-rule ones.
"""

from __future__ import annotations

import re

NP = r"[a-z][a-z-]*(?: [a-z][a-z-]*){0,2}?"
ART = r"(?:each|every|a|an|the|one|any)"
OPT_ART = r"(?:(?:a|an|the|one|another|its|their) )?"
HAS = (
    r"(?P<verb>has|have|contains|includes|holds|comes with|can have|may have|must have|"
    r"should have|might have|optionally has)"
)
LINK = r"(?P<verb>links|connects|joins|associates|relates|pairs|matches)"
BELONG = (
    r"(?P<verb>belongs to|is part of|is linked to|is assigned to|references|refers to|"
    r"may belong to|can belong to|optionally belongs to|can be assigned to|may be assigned to|"
    r"may be linked to|can be linked to|may reference|can reference)"
)
PARTICIPLE = r"(?:\w+ed|written|made|given|held|taken|sold|done|run|drawn|built|sent|paid|led)"
PASSIVE = rf"(?P<verb>(?:is|must be|(?P<maybe>may be|can be)) {PARTICIPLE} (?:by|to|for|in|at|on|from|with))"  # noqa: E501
TAIL = r"(?:,? and (?:has|have|contains|includes|holds|with)|,? with) (?P<rest>.+)"

DECLARATION = re.compile(rf"^{ART} (?P<subj>{NP}) {HAS} (?P<rest>.+)$")
PLURAL_DECLARATION = re.compile(
    rf"^(?:all )?(?P<subj>{NP}) (?P<verb>have|store|contain|include|keep|can have|may have|"
    rf"must have) (?P<rest>.+)$"
)
LINK_SENTENCE = re.compile(rf"^{ART} (?P<subj>{NP}) {LINK} (?P<targets>.+?)(?:{TAIL})?$")
BELONG_SENTENCE = re.compile(
    rf"^{ART} (?P<subj>{NP}) {BELONG} {OPT_ART}(?P<target>{NP})(?:{TAIL})?$"
)
PASSIVE_SENTENCE = re.compile(
    rf"^{ART} (?P<subj>{NP}) {PASSIVE} {OPT_ART}(?P<target>{NP})(?:{TAIL})?$"
)
MANY_MENTION = re.compile(
    rf"\b(?:many|several|multiple|any number of|zero or more|one or more|a list of|a set of|"
    rf"lots of) (?P<noun>{NP})(?=,| and | or |$| \()"
)

OPERATION_VERBS = {
    "listed": "list", "browsed": "list", "viewed": "get", "read": "get", "seen": "get",
    "retrieved": "get", "fetched": "get", "shown": "get", "opened": "get", "looked at": "get",
    "created": "create", "added": "create", "registered": "create", "recorded": "create",
    "submitted": "create", "entered": "create", "updated": "update", "edited": "update",
    "changed": "update", "modified": "update", "renamed": "update", "corrected": "update",
    "deleted": "delete", "removed": "delete",
}  # fmt: skip
MODAL = (
    r"(?P<modal>can only|may only|must only|can|may|should|cannot|can't|can not|must not|"
    r"may not|should not|are never|is never|are not|is not|are only|is only)"
)
OPERATIONS_SENTENCE = re.compile(
    rf"^(?:(?:all|the|each|every|a|an) )?(?P<subj>{NP}) {MODAL} be (?P<what>.+)$"
)
ACTIVE_SEARCH = re.compile(
    rf"^(?:(?:the )?\w+s? )?(?:can|may|should be able to|must be able to|want to) "
    rf"(?P<verb>filter|search|sort|order) (?:the |all )?(?P<subj>{NP}) by (?P<fields>.+)$"
)
READ_ONLY = re.compile(rf"^(?:(?:all|the) )?(?P<subj>{NP}) (?:are|is) read[- ]only$")
SEARCH_KEYWORD = re.compile(r"\b(?P<kind>filtered|searched|looked up|found|sorted|ordered) by\b")
FLAG_SENTENCE = re.compile(
    r"^(?:(?:the|each|every|a|an|all) )?(?P<subject>[a-z' -]+?) (?:is|are|must be|should be|"
    r"has to be|have to be|must always be) (?P<word>unique|optional|required|mandatory)"
    r"(?: (?:for|per|across|among|in) .+)?$"
)
CASCADE_SENTENCE = re.compile(
    rf"^(?:when|if|once) (?:a|an|the) (?P<parent>{NP}) is (?:deleted|removed),? "
    rf"(?:then )?(?:all )?(?:of )?(?:its|their|the|his|her) (?P<children>{NP}) "
    r"(?:are|is|get|gets) (?:also )?(?P<effect>deleted|removed|kept|unassigned|unlinked|"
    r"detached|orphaned|cleared|left without \w+)(?: too| as well)?$"
)
DELETING_SENTENCE = re.compile(
    rf"^deleting (?:a|an|the) (?P<parent>{NP}) (?:also )?(?P<effect>deletes|removes) "
    rf"(?:all )?(?:of )?(?:its|their|the) (?P<children>{NP})$"
)
RESTRICT_SENTENCE = re.compile(
    rf"^(?:a|an|the) (?P<parent>{NP}) (?:that|which|with) (?:still )?(?:has|have) "
    rf"(?:any )?(?:\w+ )?(?P<children>{NP}) (?:cannot|can't|can not|must not|may not) be "
    r"(?:deleted|removed)$"
)
AUTH_ON = re.compile(
    r"\b(?:requires?|needs?|must have|must use|uses|is protected by|are protected by|is behind|"
    r"protected with|secured with|secured by) (?:an? |the )?(?:bearer |api |access |secret )?"
    r"(?:token|tokens|authentication|login|auth)\b|\bonly (?:authenticated|logged[- ]in|"
    r"signed[- ]in|authori[sz]ed) (?:users|clients|callers|staff|people)\b|\b(?:private|"
    r"secured?|protected) api\b|\b(?:authentication|a token|a bearer token|login) is required\b"
)
AUTH_OFF = re.compile(
    r"\b(?:public|open) api\b|\bno (?:authentication|login|token)\b|\bwithout "
    r"(?:authentication|logging in|a token|login)\b|\b(?:api|service) is public\b"
)
NAME_SENTENCE = re.compile(
    r"^(?:the )?(?:service|app|application|system|api|project|product|tool) (?:is )?"
    r"(?:called|named) [\"']?(?P<name>[a-z0-9][a-z0-9 -]*?)[\"']?$"
)
NAME_LABEL = re.compile(r"^(?:service|name|service name|app|title)\s*:\s*(?P<name>.+)$")
ACTOR_SENTENCE = re.compile(
    r"^(?:it|this|the (?:app|service|system|api|tool)) is (?:used|run|operated|managed) by "
    r"(?:the |our |a |an )?(?P<actor>[a-z]+(?: [a-z]+)?)$|^(?:the |its )?users are "
    r"(?:the |our )?(?P<actor2>[a-z]+(?: [a-z]+)?)$"
)
STORY_SENTENCE = re.compile(
    r"^as (?:a|an|the) (?P<role>.+?),? i (?:want|would like|need) (?P<want>.+?)"
    r"(?:,? so that (?P<why>.+))?$"
)
INTRO_SENTENCE = re.compile(
    r"^(?:a|an|the|our|my|this) (?P<subj>[a-z][a-z-]*(?: [a-z][a-z-]*){0,3}?) "
    r"(?P<verb>[a-z]+s) .+$|^(?:we|i) (?:need|want|would like|are building|am building) "
    r"(?:a|an) (?P<subj2>[a-z][a-z-]*(?: [a-z][a-z-]*){0,3}?)(?: (?:to|that|for|where|which|"
    r"so) .+)?$"
)
INTRO_ADJECTIVES = {"small", "simple", "tiny", "local", "online", "new", "basic", "personal",
                     "little", "modern", "web", "internal", "large", "big", "family"}  # fmt: skip
GENERIC_WORDS = {"app", "application", "system", "service", "platform", "tool", "software",
                  "api", "website", "site", "backend", "program", "solution"}  # fmt: skip

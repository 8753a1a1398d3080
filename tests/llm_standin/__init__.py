"""A stand-in LLM server for tests: the OpenAI and Anthropic wire formats on a loopback port.

It is a *stand-in*, not a model: every answer is scripted by the test (a queue of canned
replies, or a function of the request). What it reproduces faithfully is the HTTP side the
LLM engine has to cope with: the request and response bodies of OpenAI's
``POST /v1/chat/completions`` and Anthropic's ``POST /v1/messages``, their authentication
headers, token usage, ``max_tokens`` cut-offs, 429 with ``Retry-After``, 5xx errors,
truncated bodies and malformed JSON.

    with LLMStandIn() as llm:
        llm.script(replies.json_answer({...}), replies.fenced("print(1)"))
        ... point the engine at llm.openai_base_url (or llm.anthropic_base_url) ...
        assert llm.count == 2
"""

from tests.llm_standin import replies
from tests.llm_standin.server import LLMStandIn, RecordedRequest

__all__ = ["LLMStandIn", "RecordedRequest", "replies"]

"""The hybrid engine: the templates build what the spec covers, the model the sentences left.

``generate``: the template engine renders the project with extension hooks (see
``app/extensions/__init__.py`` in it); every file it wrote is protected by its SHA-256.
Then, for each sentence the spec lists as not implemented, the model gets the requirement,
the stories and criteria, the generated project and the sentence, and answers an extension
module and its tests, or why it cannot be built. An answer touching a protected or
undesignated path is sent back (nothing is written yet, so it can be corrected).

``repair``: after failing tests, the model rewrites the extensions the failures point at
(all of them when only protected tests fail). A change or deletion of a protected file, or
of another sentence's files, is refused and reported; it is not sent back, so the round
is spent on it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
import structlog

from devgen.services.codegen.engines.hybrid.answer import ExtensionAnswer, read_answer
from devgen.services.codegen.engines.hybrid.prompts import (
    EXTENDER_SYSTEM,
    extender_prompt,
    extension_repair_prompt,
    spec_for_prompt,
)
from devgen.services.codegen.engines.hybrid.protection import (
    NAME,
    Refusal,
    broken_protection,
    check_write,
    hashes,
    module_path,
    test_path,
)
from devgen.services.codegen.engines.llm.activity import working_on
from devgen.services.codegen.engines.llm.budget import Meter, Usage
from devgen.services.codegen.engines.llm.conversation import ask
from devgen.services.codegen.engines.llm.documents import (
    Documents,
    Review,
    ReviewAnswer,
    Role,
)
from devgen.services.codegen.engines.llm.engine import Failure, LLMEngine, collect_test_ids
from devgen.services.codegen.engines.llm.errors import LLMOutputError
from devgen.services.codegen.engines.llm.parsing import OutputProblem
from devgen.services.codegen.engines.llm.prompts import (
    failures_text,
    project_context,
    review_text,
)
from devgen.services.codegen.engines.llm.roles import (
    Reviewed,
    RoleContext,
    ask_review,
    review_rounds,
    write_brief,
    write_design,
)
from devgen.services.codegen.engines.postprocess import PostprocessError, finish
from devgen.services.codegen.engines.template import TEMPLATES, GenerationError
from devgen.services.codegen.engines.template import generate as render_template
from devgen.services.codegen.spec import ServiceSpec

log = structlog.get_logger(__name__)

GENERATOR_NAME = "devgen-hybrid-engine"
GENERATOR_VERSION = "1.0.0"
_FAILURES_CHARS = 20_000
_MENTION = re.compile(r"(?:app/extensions/|tests/test_ext_)(?P<name>[a-z][a-z0-9_]{0,40})\.py")


@dataclass(frozen=True)
class Extension:
    """One not-implemented sentence and what the model made of it."""

    sentence: str
    reason: str
    status: str  # "implemented" or "not_implemented"
    explanation: str
    name: str = ""
    files: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API, the run's outputs and the report."""
        return {
            "sentence": self.sentence,
            "reason": self.reason,
            "status": self.status,
            "explanation": self.explanation,
            "name": self.name,
            "files": list(self.files),
            "tests": list(self.tests),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Extension:
        """The inverse of :meth:`as_dict` (unknown keys ignored)."""
        return cls(
            sentence=str(data.get("sentence", "")),
            reason=str(data.get("reason", "")),
            status=str(data.get("status", "not_implemented")),
            explanation=str(data.get("explanation", "")),
            name=str(data.get("name", "")),
            files=tuple(data.get("files") or ()),
            tests=tuple(data.get("tests") or ()),
        )


@dataclass(frozen=True)
class HybridProject:
    """The template's project with the model's extensions, and what protects the former."""

    files: dict[str, str]
    template: str
    language: str
    spec_hash: str
    tests: tuple[str, ...]
    template_tests: tuple[str, ...]
    protected: dict[str, str]
    extensions: list[Extension]
    usage: Usage
    model: str
    generator: str = GENERATOR_NAME
    generator_version: str = GENERATOR_VERSION
    documents: Documents | None = None


@dataclass(frozen=True)
class HybridRepair:
    """The project after one repair round: what changed, what was refused."""

    files: dict[str, str]
    targets: list[str]
    changed: list[str]
    refused: list[Refusal]
    extensions: list[Extension]
    usage: Usage
    notes: list[str] = field(default_factory=list)


def _short(sentence: str, limit: int = 60) -> str:
    """A sentence cut to ``limit`` characters, for progress notes."""
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _designated(answer: ExtensionAnswer, name: str) -> list[str]:
    problems = []
    for path in (module_path(name), test_path(name)):
        if path not in answer.files:
            problems.append(f"the answer has no `{path}`")
    if module_path(name) not in answer.files or test_path(name) not in answer.files:
        return problems
    if not collect_test_ids({test_path(name): answer.files[test_path(name)]}):
        problems.append(f"`{test_path(name)}` defines no test function")
    return problems


_State = tuple[dict[str, str], list[Extension]]
"""What the review rounds carry in the hybrid engine: the files and the extensions."""


class HybridEngine:
    """Template generation plus model-written extensions, through one chat model."""

    def __init__(self, llm: LLMEngine) -> None:
        self.llm = llm

    @property
    def model(self) -> str:
        """The configured model's name."""
        return self.llm.client.model

    async def generate(
        self,
        spec: ServiceSpec,
        *,
        meter: Meter,
        requirement: str | None = None,
        language: str = "python",
        template: str = "fastapi-service",
        roles: Sequence[Role] = (),
    ) -> HybridProject:
        """The template's project, then one extension (or an explanation) per sentence.

        ``roles`` (:mod:`devgen.services.codegen.engines.llm.roles`): the product manager's
        brief comes first, the architect's design after the template, and the reviewer
        reads the model's extensions; a ``change`` verdict is one more extension round.
        """
        spec_data = spec_for_prompt(spec)
        context = RoleContext(
            self.llm.client, self.llm.settings, meter, spec_data, requirement, roles
        )
        if "product_manager" in roles:
            with working_on("product_manager", "brief"):
                await write_brief(context)
        job = functools.partial(
            render_template, spec, language=language, template=template, extensions=True
        )
        base = await anyio.to_thread.run_sync(job, limiter=self.llm.limiter)
        protected = hashes(base.files)
        files = dict(base.files)
        design = None
        if "architect" in roles:
            info = TEMPLATES.get(template)
            with working_on("architect", "design"):
                design = await write_design(
                    context,
                    template=template,
                    generates=info.generates if info else (),
                    built=list(base.files),
                )
        extensions: list[Extension] = []
        for item in spec.not_implemented:
            taken = [e.name for e in extensions if e.name]
            with working_on("engineer", f"extension for “{_short(item.sentence)}”"):
                extension, written = await self._extend(
                    spec_data, requirement, files, item.model_dump(), taken, protected, meter
                )
            files.update(written)
            extensions.append(extension)
        model_files = {p: c for p, c in files.items() if p not in protected}
        files.update(await self._lay_out(model_files))
        extensions = [
            replace(e, tests=collect_test_ids({p: files[p] for p in e.files if p in files}))
            for e in extensions
        ]
        documents: Documents | None = None
        if roles:
            review = None
            if "reviewer" in roles:
                reviewed = await self._reviewed(
                    context, files, extensions, protected=protected, requirement=requirement
                )
                (files, extensions), review = reviewed.state, reviewed.review
            documents = Documents(
                roles=list(roles),
                brief=context.brief,
                design=design,
                review=review,
                problems=context.problems,
            )
        return HybridProject(
            files=dict(sorted(files.items())),
            template=base.template,
            language=base.language,
            spec_hash=base.spec_hash,
            tests=(*base.tests, *(t for e in extensions for t in e.tests)),
            template_tests=base.tests,
            protected=protected,
            extensions=extensions,
            usage=meter.usage,
            model=self.model,
            documents=documents,
        )

    async def _reviewed(
        self,
        context: RoleContext,
        files: dict[str, str],
        extensions: list[Extension],
        *,
        protected: Mapping[str, str],
        requirement: str | None,
    ) -> Reviewed[_State]:
        """The review rounds over what the model wrote (its extensions, the diff)."""
        limit = self.llm.settings.llm_context_chars

        rounds = [0]  # the round the fixes answer (review_rounds passes it to review only)

        async def review(state: _State, number: int) -> ReviewAnswer:
            current, done = state
            own = sorted({p for e in done for p in e.files if p in current})
            sentences = "\n".join(
                f"- “{e.sentence}”: {e.status}"
                + (f" as extension `{e.name}`" if e.name else "")
                + (f" ({e.explanation})" if e.explanation else "")
                for e in done
            )
            work = (
                "The sentences the templates did not implement, and what the engineer did:\n"
                f"{sentences or '(none)'}\n\nThe files the engineer wrote (the templates' "
                "files are protected and not shown):\n"
                f"{project_context({p: current[p] for p in own}, own, limit)}"
            )
            rounds[0] = number
            with working_on("reviewer", "review", round=number):
                return await ask_review(context, work=work, changeable=own, round_number=number)

        async def fix(state: _State, answer: ReviewAnswer) -> tuple[_State, list[str]]:
            current, done = state
            with working_on("engineer", "review fix", round=rounds[0]):
                result = await self.repair(
                    current,
                    meter=context.meter,
                    protected=protected,
                    extensions=done,
                    failures=[Failure(file=c.path, message=c.change) for c in answer.changes],
                    output=review_text(
                        answer.verdict, answer.reasons, [c.model_dump() for c in answer.changes]
                    ),
                    requirement=requirement,
                    heading="The reviewer asks for changes",
                )
            return (dict(result.files), list(result.extensions)), result.changed

        if not any(e.status == "implemented" for e in extensions):
            return Reviewed(
                (files, extensions),
                Review(stopped="the model implemented no sentence: there is nothing to review"),
            )
        return await review_rounds(
            context,
            (files, extensions),
            review=review,
            fix=fix,
            max_rounds=self.llm.settings.llm_review_rounds,
        )

    async def _extend(
        self,
        spec: Mapping[str, Any],
        requirement: str | None,
        files: Mapping[str, str],
        sentence: Mapping[str, Any],
        taken: Sequence[str],
        protected: Mapping[str, str],
        meter: Meter,
    ) -> tuple[Extension, dict[str, str]]:
        text, reason = str(sentence.get("sentence", "")), str(sentence.get("reason", ""))

        def read(completion: Any) -> ExtensionAnswer:
            answer = read_answer(completion.text, truncated=completion.truncated)
            if answer.status == "not_implemented":
                return answer
            if not NAME.match(answer.name):
                raise OutputProblem("NAME must be snake_case: a-z, digits, _, at most 41 long.")
            if answer.name in taken:
                raise OutputProblem(f"The name {answer.name!r} is taken; choose another.")
            problems = _designated(answer, answer.name)
            for path, content in answer.files.items():
                refusal = check_write(path, content, protected=protected, allowed={answer.name})
                if refusal is not None:
                    problems.append(f"`{path}`: {refusal.reason}")
            if answer.deletes:
                problems.append("nothing may be deleted")
            if problems:
                raise OutputProblem(
                    "The answer cannot be used:\n"
                    + "\n".join(f"- {p}" for p in problems)
                    + "\nReply again with the whole answer."
                )
            return answer

        try:
            answer = await ask(
                self.llm.client,
                meter,
                system=EXTENDER_SYSTEM,
                prompt=extender_prompt(
                    requirement=requirement,
                    spec=spec,
                    files=files,
                    sentence=sentence,
                    taken=taken,
                    limit_chars=self.llm.settings.llm_context_chars,
                ),
                read=read,
                retries=self.llm.settings.llm_output_retries,
                max_tokens=self.llm.settings.llm_max_output_tokens,
                what=f"extension for “{text[:80]}”",
            )
        except LLMOutputError as exc:
            log.info("hybrid_sentence_unusable", sentence=text[:120])
            return (
                Extension(text, reason, "not_implemented", f"no usable answer: {exc.message}"),
                {},
            )
        if answer.status == "not_implemented":
            return Extension(text, reason, "not_implemented", answer.explanation), {}
        return (
            Extension(
                text,
                reason,
                "implemented",
                answer.explanation,
                name=answer.name,
                files=tuple(sorted(answer.files)),
            ),
            dict(answer.files),
        )

    async def repair(
        self,
        files: Mapping[str, str],
        *,
        meter: Meter,
        protected: Mapping[str, str],
        extensions: Sequence[Extension],
        failures: Sequence[Failure],
        output: str = "",
        requirement: str | None = None,
        heading: str = "The project's tests fail",
    ) -> HybridRepair:
        """One round: the model rewrites the failing extensions; protected files stay.

        ``heading`` introduces ``failures`` to the model (a review's changes, after one).
        """
        problems = broken_protection(files, protected)
        if problems:
            raise GenerationError(
                "the project's protected files differ from what the template built: "
                + "; ".join(problems[:20])
            )
        report = failures_text(
            [{"test": f.test, "file": f.file, "message": f.message} for f in failures],
            output,
            _FAILURES_CHARS,
        )
        targets = _failing_extensions(extensions, failures, output)
        repaired = dict(files)
        refused: list[Refusal] = []
        updated = {e.name: e for e in extensions if e.name}
        for extension in targets:
            answer = await ask(
                self.llm.client,
                meter,
                system=EXTENDER_SYSTEM,
                prompt=extension_repair_prompt(
                    requirement=requirement,
                    extension=extension.as_dict(),
                    files=repaired,
                    failures=report,
                    limit_chars=self.llm.settings.llm_context_chars,
                    heading=heading,
                ),
                read=lambda c: read_answer(c.text, truncated=c.truncated),
                retries=self.llm.settings.llm_output_retries,
                max_tokens=self.llm.settings.llm_max_output_tokens,
                what=f"repair of extension {extension.name}",
            )
            if answer.status == "not_implemented":
                for path in extension.files:
                    repaired.pop(path, None)
                updated[extension.name] = replace(
                    extension,
                    status="not_implemented",
                    explanation=answer.explanation,
                    files=(),
                    tests=(),
                )
                continue
            changes: dict[str, str | None] = {**answer.files, **dict.fromkeys(answer.deletes)}
            own: set[str] = set(extension.files)
            for path, content in changes.items():
                refusal = check_write(path, content, protected=protected, allowed={extension.name})
                if refusal is not None:
                    refused.append(refusal)
                    log.warning("hybrid_change_refused", **refusal.as_dict())
                    continue
                if content is None:
                    repaired.pop(path, None)
                    own.discard(path)
                elif path in protected:
                    continue  # the same bytes as built
                else:
                    repaired[path] = content
                    own.add(path)
            updated[extension.name] = replace(
                extension,
                explanation=answer.explanation or extension.explanation,
                files=tuple(sorted(own)),
            )
        model_files = {
            p: c for p, c in repaired.items() if p not in protected and files.get(p) != c
        }
        repaired.update(await self._lay_out(model_files))
        if broken_protection(repaired, protected):  # by construction never; checked anyway
            raise GenerationError("a repair changed a protected file")
        final = [
            replace(e, tests=collect_test_ids({p: repaired[p] for p in e.files if p in repaired}))
            for e in (updated.get(x.name, x) if x.name else x for x in extensions)
        ]
        paths = sorted(set(files) | set(repaired))
        changed = [p for p in paths if files.get(p) != repaired.get(p)]
        return HybridRepair(
            files=dict(sorted(repaired.items())),
            targets=[p for e in targets for p in e.files],
            changed=changed,
            refused=refused,
            extensions=final,
            usage=meter.usage,
        )

    async def _lay_out(self, files: dict[str, str]) -> dict[str, str]:
        if not files:
            return {}
        job = functools.partial(finish, files, openapi_path=None)
        try:
            result: dict[str, str] = await anyio.to_thread.run_sync(job, limiter=self.llm.limiter)
        except PostprocessError as exc:
            log.warning("hybrid_layout_failed", error=str(exc)[:500])
            return files
        return result


def _failing_extensions(
    extensions: Sequence[Extension], failures: Sequence[Failure], output: str
) -> list[Extension]:
    """The extensions the failures name; every implemented one when they name none."""
    implemented = [e for e in extensions if e.status == "implemented" and e.name]
    texts = [output, *(f"{f.test or ''} {f.file or ''} {f.message}" for f in failures)]
    # Tracebacks name files with the sandbox's prefix (/workspace/app/...): search, not match.
    named = {m.group("name") for text in texts for m in _MENTION.finditer(text)}
    chosen = [e for e in implemented if e.name in named]
    return chosen or implemented

"""``/api/v1/codegen/spec-schema``, ``/templates`` and ``/languages``: what codegen offers."""

from __future__ import annotations

from fastapi import APIRouter, Response

from devgen.kit.auth import CurrentPrincipal
from devgen.kit.errors import Forbidden, Unauthorized, error_responses
from devgen.kit.responses import Envelope, ListEnvelope, ListMetadata
from devgen.services.codegen import service
from devgen.services.codegen.schemas import LanguageRead, SpecSchemaRead, TemplateRead
from devgen.services.codegen.state import State

router = APIRouter(
    prefix="/api/v1/codegen",
    tags=["codegen"],
    responses=error_responses(Unauthorized, Forbidden),
)


@router.get("/spec-schema", response_model=Envelope[SpecSchemaRead])
async def get_spec_schema(
    _principal: CurrentPrincipal, response: Response
) -> Envelope[SpecSchemaRead]:
    """The JSON Schema of the spec `/analyze` returns and `/generate` takes, with its version."""
    response.headers["Cache-Control"] = "private, max-age=300"
    return Envelope(data=service.spec_schema())


@router.get("/templates", response_model=ListEnvelope[TemplateRead])
async def list_templates(_principal: CurrentPrincipal, state: State) -> ListEnvelope[TemplateRead]:
    """Every template: its language, what it generates, the engines that can use it."""
    items = service.templates(state)
    return ListEnvelope(data=items, metadata=ListMetadata(total=len(items), limit=len(items)))


@router.get("/languages", response_model=ListEnvelope[LanguageRead])
async def list_languages(_principal: CurrentPrincipal) -> ListEnvelope[LanguageRead]:
    """Every language some template generates."""
    items = service.languages()
    return ListEnvelope(data=items, metadata=ListMetadata(total=len(items), limit=len(items)))

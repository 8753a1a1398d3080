"""``/api/v1/invitations``: the invitations addressed to me, and my answer to each."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from devgen.kit.deps import Session
from devgen.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, error_responses
from devgen.kit.responses import Envelope
from devgen.services.identity import invitations, repository, tenancy
from devgen.services.identity.deps import Active
from devgen.services.identity.schemas import InvitationForMe, InvitationRead, InvitationToken
from devgen.services.identity.service import normalise_email

router = APIRouter(
    prefix="/api/v1/invitations",
    tags=["invitations"],
    responses=error_responses(Unauthorized, Forbidden),
)

_ANSWER_ERRORS = error_responses(NotFound, Conflict)


@router.get("", response_model=Envelope[list[InvitationForMe]])
async def list_my_invitations(session: Session, context: Active) -> Envelope[list[InvitationForMe]]:
    """Pending invitations addressed to the e-mail you are signed in with."""
    tenancy.require_person(context.principal)
    rows = await repository.open_invitations_for(session, normalise_email(context.user.email))
    data = [
        InvitationForMe(**invitations.to_read(invitation).model_dump(), tenant_name=tenant.name)
        for invitation, tenant in rows
    ]
    return Envelope(data=data, metadata={"total": len(data)})


@router.post("/accept", response_model=Envelope[InvitationRead], responses=_ANSWER_ERRORS)
async def accept_by_token(
    body: InvitationToken, session: Session, context: Active
) -> Envelope[InvitationRead]:
    """Accept with the token you were sent; you must be signed in as the invited address."""
    invitation = await invitations.addressed_to(
        session, context.principal, context.user, token=body.token
    )
    return Envelope(
        data=invitations.to_read(await invitations.accept(session, context.user, invitation))
    )


@router.post("/decline", response_model=Envelope[InvitationRead], responses=_ANSWER_ERRORS)
async def decline_by_token(
    body: InvitationToken, session: Session, context: Active
) -> Envelope[InvitationRead]:
    """Decline with the token you were sent; you must be signed in as the invited address."""
    invitation = await invitations.addressed_to(
        session, context.principal, context.user, token=body.token
    )
    return Envelope(
        data=invitations.to_read(await invitations.decline(session, context.user, invitation))
    )


@router.post(
    "/{invitation_id}/accept", response_model=Envelope[InvitationRead], responses=_ANSWER_ERRORS
)
async def accept(
    invitation_id: uuid.UUID, session: Session, context: Active
) -> Envelope[InvitationRead]:
    """Join the tenant with the invited role; switch to it to act there."""
    invitation = await invitations.addressed_to(
        session, context.principal, context.user, invitation_id=invitation_id
    )
    return Envelope(
        data=invitations.to_read(await invitations.accept(session, context.user, invitation))
    )


@router.post(
    "/{invitation_id}/decline", response_model=Envelope[InvitationRead], responses=_ANSWER_ERRORS
)
async def decline(
    invitation_id: uuid.UUID, session: Session, context: Active
) -> Envelope[InvitationRead]:
    """Decline; the invitation can no longer be used."""
    invitation = await invitations.addressed_to(
        session, context.principal, context.user, invitation_id=invitation_id
    )
    return Envelope(
        data=invitations.to_read(await invitations.decline(session, context.user, invitation))
    )

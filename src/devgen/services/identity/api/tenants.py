"""``/api/v1/tenants``: my tenants, creating one, managing its members and invitations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, error_responses
from devgen.kit.pagination import Page, paginate_offset
from devgen.kit.responses import Envelope, ListEnvelope
from devgen.services.identity import invitations, repository, tenancy
from devgen.services.identity.deps import Active, ActiveAdmin
from devgen.services.identity.models import Membership, User
from devgen.services.identity.schemas import (
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    InvitationState,
    MemberRead,
    MemberUpdate,
    TenantCreate,
    TenantRead,
    TenantWithRole,
)
from devgen.services.identity.state import State

router = APIRouter(
    prefix="/api/v1/tenants", tags=["tenants"], responses=error_responses(Unauthorized)
)


def _member_read(membership: Membership, user: User) -> MemberRead:
    return MemberRead(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=membership.role,  # type: ignore[arg-type]
        suspended=membership.suspended_at is not None,
        joined_at=membership.created_at,
    )


@router.get("", response_model=Envelope[list[TenantWithRole]], responses=error_responses(Forbidden))
async def list_my_tenants(session: Session, context: Active) -> Envelope[list[TenantWithRole]]:
    """Every tenant the caller belongs to, with the caller's role in each."""
    user_id = tenancy.require_person(context.principal)
    rows = await repository.tenants_of_user(session, user_id)
    data = [
        TenantWithRole(**TenantRead.model_validate(tenant).model_dump(), role=role)  # type: ignore[arg-type]
        for tenant, role in rows
    ]
    return Envelope(data=data, metadata={"total": len(data)})


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[TenantRead],
    responses=error_responses(Forbidden),
)
async def create_tenant(
    body: TenantCreate, session: Session, context: Active
) -> Envelope[TenantRead]:
    """Create a tenant; the caller becomes its owner (switch to it to act in it)."""
    tenant = await tenancy.create_tenant(session, context.principal, body.name)
    return Envelope(data=TenantRead.model_validate(tenant))


@router.get(
    "/{tenant_id}", response_model=Envelope[TenantRead], responses=error_responses(NotFound)
)
async def get_tenant(
    tenant_id: uuid.UUID, session: Session, context: Active
) -> Envelope[TenantRead]:
    """A tenant the caller belongs to."""
    tenant = await tenancy.get_tenant(session, context.principal, tenant_id)
    return Envelope(data=TenantRead.model_validate(tenant))


@router.get(
    "/{tenant_id}/members",
    response_model=ListEnvelope[MemberRead],
    responses=error_responses(NotFound),
)
async def list_members(
    tenant_id: uuid.UUID, session: Session, context: Active, page: Page
) -> ListEnvelope[MemberRead]:
    """Members of the caller's current tenant."""
    tenancy.own_tenant(context.principal, tenant_id)
    query = repository.memberships_of_tenant(tenant_id)
    result = await paginate_offset(session, query.with_only_columns(Membership), page)
    users = {
        user.id: user
        for _membership, user in (
            await session.execute(query.where(Membership.id.in_([m.id for m in result.items])))
        ).all()
    }
    data = [_member_read(m, users[m.user_id]) for m in result.items]
    return ListEnvelope(data=data, metadata=result.metadata)


@router.post(
    "/{tenant_id}/invitations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[InvitationCreated],
    responses=error_responses(Forbidden, NotFound, Conflict),
)
async def invite(
    tenant_id: uuid.UUID,
    body: InvitationCreate,
    session: Session,
    state: State,
    context: ActiveAdmin,
) -> Envelope[InvitationCreated]:
    """Invite an e-mail address with a role (admins; only owners invite owners).

    The person joins only when they accept, signed in with that address.
    The answer is the same whether or not the address has an account; its
    ``token`` is shown once, to send to them out of band.
    """
    created = await invitations.invite(
        session,
        context.principal,
        tenant_id,
        body.email,
        body.role,
        ttl_seconds=state.settings.invitation_ttl_seconds,
    )
    return Envelope(data=created)


@router.get(
    "/{tenant_id}/invitations",
    response_model=ListEnvelope[InvitationRead],
    responses=error_responses(Forbidden, NotFound),
    dependencies=[KnownQueryParameters],
)
async def list_invitations(
    tenant_id: uuid.UUID,
    session: Session,
    context: ActiveAdmin,
    page: Page,
    state: Annotated[InvitationState | None, Query(description="Only this state.")] = None,
) -> ListEnvelope[InvitationRead]:
    """The tenant's invitations, newest first (admins)."""
    tenancy.own_tenant(context.principal, tenant_id)
    result = await paginate_offset(
        session, repository.invitations_of_tenant(tenant_id, state), page
    )
    return ListEnvelope(
        data=[invitations.to_read(i) for i in result.items], metadata=result.metadata
    )


@router.delete(
    "/{tenant_id}/invitations/{invitation_id}",
    response_model=Envelope[InvitationRead],
    responses=error_responses(Forbidden, NotFound, Conflict),
)
async def revoke_invitation(
    tenant_id: uuid.UUID, invitation_id: uuid.UUID, session: Session, context: ActiveAdmin
) -> Envelope[InvitationRead]:
    """Withdraw a pending invitation (admins); it can no longer be accepted."""
    invitation = await invitations.revoke(session, context.principal, tenant_id, invitation_id)
    return Envelope(data=invitations.to_read(invitation))


@router.patch(
    "/{tenant_id}/members/{user_id}",
    response_model=Envelope[MemberRead],
    responses=error_responses(Forbidden, NotFound, Conflict),
)
async def change_role(
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    body: MemberUpdate,
    session: Session,
    context: ActiveAdmin,
) -> Envelope[MemberRead]:
    """Change a member's role; the last owner cannot be demoted (409)."""
    membership, user = await tenancy.change_role(
        session, context.principal, tenant_id, user_id, body.role
    )
    return Envelope(data=_member_read(membership, user))


@router.delete(
    "/{tenant_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(Forbidden, NotFound, Conflict),
)
async def remove_member(
    tenant_id: uuid.UUID, user_id: uuid.UUID, session: Session, context: Active
) -> None:
    """Remove a member (admins), or leave the tenant yourself; never the last owner."""
    await tenancy.remove_member(session, context.principal, tenant_id, user_id)

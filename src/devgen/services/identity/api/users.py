"""``/api/v1/users``: the users of the caller's tenant, for its administrators."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from devgen.kit.deps import Session
from devgen.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, error_responses
from devgen.kit.pagination import Page, paginate_offset
from devgen.kit.responses import Envelope, ListEnvelope
from devgen.services.identity import repository, tenancy
from devgen.services.identity.deps import ActiveAdmin
from devgen.services.identity.models import Membership, User
from devgen.services.identity.schemas import DisableResult, UserInTenant, UserRead

router = APIRouter(
    prefix="/api/v1/users",
    tags=["users"],
    responses=error_responses(Unauthorized, Forbidden),
)


def _user_in_tenant(user: User, membership: Membership) -> UserInTenant:
    return UserInTenant(
        **UserRead.model_validate(user).model_dump(),
        role=membership.role,  # type: ignore[arg-type]
        suspended=membership.suspended_at is not None,
    )


@router.get("", response_model=ListEnvelope[UserInTenant])
async def list_users(
    session: Session, context: ActiveAdmin, page: Page
) -> ListEnvelope[UserInTenant]:
    """Users of the current tenant with their roles (admins only)."""
    assert context.principal.tenant_id is not None
    query = repository.memberships_of_tenant(context.principal.tenant_id)
    result = await paginate_offset(session, query.with_only_columns(Membership), page)
    users = {m.user_id: await session.get(User, m.user_id) for m in result.items}
    data = [_user_in_tenant(users[m.user_id], m) for m in result.items]  # type: ignore[arg-type]
    return ListEnvelope(data=data, metadata=result.metadata)


@router.get(
    "/{user_id}", response_model=Envelope[UserInTenant], responses=error_responses(NotFound)
)
async def get_user(
    user_id: uuid.UUID, session: Session, context: ActiveAdmin
) -> Envelope[UserInTenant]:
    """A user of the current tenant; anyone else is 404."""
    membership, user = await tenancy.member_of_tenant(session, context.principal, user_id)
    return Envelope(data=_user_in_tenant(user, membership))


@router.post(
    "/{user_id}/disable",
    response_model=Envelope[DisableResult],
    responses=error_responses(NotFound, Conflict),
)
async def disable_user(
    user_id: uuid.UUID, session: Session, context: ActiveAdmin
) -> Envelope[DisableResult]:
    """Suspend the user in this tenant (a platform admin disables the whole account).

    Their sessions and API keys are revoked at once.
    """
    result = await tenancy.set_active(session, context.principal, user_id, active=False)
    return Envelope(data=result)


@router.post(
    "/{user_id}/enable",
    response_model=Envelope[DisableResult],
    responses=error_responses(NotFound, Conflict),
)
async def enable_user(
    user_id: uuid.UUID, session: Session, context: ActiveAdmin
) -> Envelope[DisableResult]:
    """Lift a suspension (or, for a platform admin, re-enable the account)."""
    result = await tenancy.set_active(session, context.principal, user_id, active=True)
    return Envelope(data=result)

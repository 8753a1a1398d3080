"""Profile's endpoint dependencies: whose profile the caller reaches."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from devgen.kit.auth import CurrentPrincipal
from devgen.services.profile.service import owner_id


async def _reader(principal: CurrentPrincipal) -> uuid.UUID:
    return owner_id(principal, write=False)


async def _writer(principal: CurrentPrincipal) -> uuid.UUID:
    return owner_id(principal, write=True)


ReadingOwner = Annotated[uuid.UUID, Depends(_reader)]
"""The user id of the profile the caller may read (an API key needs ``read``)."""

WritingOwner = Annotated[uuid.UUID, Depends(_writer)]
"""The user id of the profile the caller may change (an API key needs ``write``)."""

"""Identity's API tests run on SQLite and on the real PostgreSQL."""

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Both database backends."""
    return str(request.param)


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Identity and profile need nothing else; starting less keeps each test fast."""
    return ("identity", "profile")

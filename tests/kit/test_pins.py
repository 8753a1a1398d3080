"""The pins of a generated service (kit/pins.toml): exact, and what devgen itself runs."""

import importlib.metadata

import pytest

from devgen.kit.pins import service_pins


def test_every_pin_is_one_exact_version() -> None:
    pins = service_pins()

    assert pins.runtime
    assert pins.dev
    for requirement in pins.everything:
        name, separator, version = requirement.partition("==")
        assert separator, requirement
        assert name == name.lower()
        assert version
        assert not set(version) & set("<>=!~*, ")


def test_no_package_is_pinned_twice() -> None:
    names = [r.partition("==")[0] for r in service_pins().everything]

    assert len(names) == len(set(names))


def test_accounts_pins_join_the_runtime_ones_only_when_asked() -> None:
    pins = service_pins()

    assert "pyjwt==" not in " ".join(pins.requirements(accounts=False))
    assert set(pins.requirements(accounts=True)) == set(pins.runtime) | set(pins.accounts)
    assert pins.pin("PyJWT").startswith("pyjwt==")
    with pytest.raises(KeyError):
        pins.pin("no-such-package")


def test_devgen_runs_the_pinned_versions_it_checks_generated_projects_with() -> None:
    """codegen's local check runs a generated suite in devgen's own environment."""
    installed = {}
    for requirement in service_pins().everything:
        name, _, version = requirement.partition("==")
        try:
            installed[name] = (importlib.metadata.version(name), version)
        except importlib.metadata.PackageNotFoundError:
            continue

    assert {"fastapi", "starlette", "sqlalchemy", "pydantic", "pytest"} <= set(installed)
    assert {n: v for n, v in installed.items() if v[0] != v[1]} == {}

"""Limits: defaults, validation, server maxima."""

import pytest
from pydantic import ValidationError

from devgen.services.executor.sandbox import GIB, MIB, LimitExceededError, LimitMaxima, Limits


def test_defaults_match_the_documented_values() -> None:
    limits = Limits()
    assert (limits.wall_time_s, limits.cpu_time_s) == (10, 5)
    assert limits.memory_bytes == 256 * MIB
    assert limits.processes == 64
    assert limits.stack_bytes == 8 * MIB
    assert limits.open_files == 256
    assert limits.file_size_bytes == 16 * MIB
    assert limits.workspace_bytes == 64 * MIB
    assert limits.output_bytes == 1 * MIB


def test_server_maxima_defaults() -> None:
    maxima = LimitMaxima()
    assert (maxima.wall_time_s, maxima.cpu_time_s) == (60, 30)
    assert maxima.memory_bytes == 1 * GIB
    assert maxima.processes == 128


def test_defaults_are_within_the_maxima() -> None:
    Limits().check_within(LimitMaxima())


def test_every_field_above_its_maximum_is_named() -> None:
    with pytest.raises(LimitExceededError) as caught:
        Limits(wall_time_s=61, processes=129).check_within(LimitMaxima())
    assert set(caught.value.fields) == {"wall_time_s", "processes"}
    assert "wall_time_s=61" in str(caught.value)


@pytest.mark.parametrize(
    "field", [{"wall_time_s": 0}, {"memory_bytes": 1024}, {"processes": 1}, {"extra": 1}]
)
def test_nonsense_values_are_rejected(field: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        Limits(**field)  # type: ignore[arg-type]


def test_there_is_no_network_switch() -> None:
    assert "network" not in Limits.model_fields

"""Effective limits: request over environment defaults over the server's, never above maxima."""

from __future__ import annotations

import pytest

from devgen.kit.errors import ValidationFailed
from devgen.services.executor.plan import effective_limits
from devgen.services.executor.sandbox import LimitMaxima, Limits


def test_request_wins_over_environment_defaults() -> None:
    limits = effective_limits(
        {"wall_time_s": 5}, {"wall_time_s": 60, "cpu_time_s": 30}, LimitMaxima()
    )

    assert limits.wall_time_s == 5
    assert limits.cpu_time_s == 30
    assert limits.memory_bytes == Limits().memory_bytes


def test_environment_defaults_are_lowered_to_the_maxima() -> None:
    limits = effective_limits({}, {"wall_time_s": 60}, LimitMaxima(wall_time_s=20))

    assert limits.wall_time_s == 20


def test_a_request_above_a_maximum_is_refused_not_lowered() -> None:
    with pytest.raises(ValidationFailed) as refused:
        effective_limits({"processes": 500}, {}, LimitMaxima())

    assert refused.value.details["limits"]["processes"] == {"requested": 500, "maximum": 128}

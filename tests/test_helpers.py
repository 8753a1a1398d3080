"""``eventually``: the one polling wait of the tests."""

from __future__ import annotations

import asyncio

import pytest

from tests import helpers
from tests.helpers import eventually, eventually_sync


class ThirdTime:
    """A probe that answers falsy twice, then its value; counts its calls."""

    def __init__(self, value: object = "ready") -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value if self.calls >= 3 else None


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every pause the helpers take, in seconds (taken as zero-length pauses)."""
    taken: list[float] = []
    real_sleep = asyncio.sleep

    async def pause(seconds: float) -> None:
        taken.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(helpers, "_pause", pause)
    monkeypatch.setattr(helpers, "_pause_sync", taken.append)
    return taken


async def test_it_returns_the_value_as_soon_as_it_is_truthy(pauses: list[float]) -> None:
    probe = ThirdTime({"status": "done"})
    assert await eventually(probe, interval=0.5) == {"status": "done"}
    # Called until the answer came and not once more; one interval between calls.
    assert probe.calls == 3
    assert pauses == [0.5, 0.5]


async def test_it_awaits_an_async_probe(pauses: list[float]) -> None:
    probe = ThirdTime(7)

    async def check() -> object:
        return probe()

    assert await eventually(check) == 7
    assert probe.calls == 3


async def test_until_decides_and_the_probes_value_is_returned(pauses: list[float]) -> None:
    answers = iter([{"status": "queued"}, {"status": "running"}, {"status": "finished"}])
    finished = await eventually(lambda: next(answers), until=lambda d: d["status"] == "finished")
    assert finished == {"status": "finished"}
    assert len(pauses) == 2


async def test_it_fails_with_the_last_value_seen_at_the_deadline() -> None:
    answers = iter(range(1_000_000))
    with pytest.raises(AssertionError) as failed:
        await eventually(lambda: next(answers), until=lambda n: n < 0, timeout=0.2, what="n < 0")
    message = str(failed.value)
    assert message.startswith("n < 0 not met within 0.2s (last value: ")
    assert int(message.removeprefix("n < 0 not met within 0.2s (last value: ")[:-1]) > 0


async def test_ignored_errors_count_as_not_yet_and_show_in_the_message() -> None:
    def refused() -> object:
        raise ConnectionRefusedError("not listening yet")

    with pytest.raises(AssertionError, match=r"last error: ConnectionRefusedError\("):
        await eventually(refused, ignoring=(ConnectionError,), timeout=0.1)


async def test_other_errors_propagate_at_once(pauses: list[float]) -> None:
    def broken() -> object:
        raise RuntimeError("the process died")

    with pytest.raises(RuntimeError, match="the process died"):
        await eventually(broken, ignoring=(ConnectionError,))
    assert pauses == []


def test_the_sync_variant_behaves_the_same(pauses: list[float]) -> None:
    probe = ThirdTime("up")
    assert eventually_sync(probe, interval=0.25) == "up"
    assert (probe.calls, pauses) == (3, [0.25, 0.25])


def test_the_sync_variant_fails_with_the_last_value_seen() -> None:
    with pytest.raises(AssertionError, match=r"started not met within 0.2s \(last value: 0\)"):
        eventually_sync(lambda: 0, timeout=0.2, interval=0.05, what="started")

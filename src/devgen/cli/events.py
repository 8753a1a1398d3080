"""``devgen events``: watch the bus, and list and replay dead letters.

The bus is the one ``DEVGEN_BUS_URL`` names. On RabbitMQ the commands talk to
the broker (dead letters are in ``<prefix>.<service>.dead`` queues); on the
in-process bus they read the services' databases (dead letters are rows of
each consuming service's ``event_dead_letters`` table, and a replay is picked
up by the running service within ``DEVGEN_DEAD_LETTER_POLL_SECONDS``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from devgen.cli.output import fail, load_settings, out, run
from devgen.kit.db import Database
from devgen.kit.events import deadletters
from devgen.kit.events.envelope import Event, InvalidEvent
from devgen.kit.events.tables import has_outbox, outbox
from devgen.kit.settings import Settings
from devgen.runtime.registry import available_services, load_definition

app = typer.Typer(
    help="The event bus: tail it, list and replay dead letters.", no_args_is_help=True
)
dead_letters_app = typer.Typer(help="Events whose handler kept failing.", no_args_is_help=True)
app.add_typer(dead_letters_app, name="dead-letters")

_ServiceOption = Annotated[
    str | None, typer.Option("--service", help="Only this service [default: every consumer].")
]


def _consumers(only: str | None) -> list[str]:
    names = [name for name in available_services() if load_definition(name).consumers]
    if only is not None:
        if only not in names:
            fail(f"{only!r} consumes no events; consumers: {', '.join(names) or 'none'}", code=2)
        return [only]
    return names


def _database(settings: Settings, service: str) -> Database:
    return Database(settings.database.url_for(service, settings.core.data_dir), pool_size=1)


def _summary(event: Event | None, fallback: str) -> str:
    if event is None:
        return fallback
    parts = [event.type, f"subject={event.subject}" if event.subject else "", event.actor or ""]
    return " ".join(part for part in parts if part)


@dead_letters_app.command("list")
def list_dead_letters(
    service: _ServiceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Dead letters: which event, which service, why (they stay until replayed)."""
    settings = load_settings()
    services = _consumers(service)
    rows: list[dict[str, str]] = []
    if settings.events.is_memory:
        for name, letter in run(_memory_letters(settings, services)):
            rows.append(
                {
                    "service": name,
                    "event_id": letter.event_id,
                    "event": _summary(_parse(letter.envelope), letter.type),
                    "detail": f"{letter.attempts} attempts, {letter.dead_at:%Y-%m-%d %H:%M:%S}: "
                    f"{letter.error}" + (" (replay requested)" if letter.replay_requested else ""),
                }
            )
    else:
        from devgen.kit.events import amqp_admin

        for queued in run(amqp_admin.list_dead_letters(settings.events, services)):
            rows.append(
                {
                    "service": queued.service,
                    "event_id": queued.message_id or "-",
                    "event": _summary(queued.event, queued.type or "?"),
                    "detail": queued.reason or "",
                }
            )
    if as_json:
        for row in rows:
            out.print(json.dumps(row), highlight=False, soft_wrap=True)
        return
    table = Table("service", "event id", "event", "detail", title="Dead letters")
    for row in rows:
        table.add_row(row["service"], row["event_id"], row["event"], row["detail"])
    out.print(table)


def _parse(envelope: str) -> Event | None:
    try:
        return Event.from_json(envelope)
    except InvalidEvent:
        return None


async def _memory_letters(
    settings: Settings, services: Sequence[str]
) -> list[tuple[str, deadletters.DeadLetter]]:
    found = []
    for name in services:
        database = _database(settings, name)
        try:
            found += [(name, letter) for letter in await deadletters.list_dead_letters(database)]
        finally:
            await database.dispose()
    return found


@dead_letters_app.command("replay")
def replay(
    service: _ServiceOption = None,
    event_id: Annotated[
        list[str] | None, typer.Option("--event-id", help="Only these events (repeatable).")
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Hand dead letters back to their service's handlers (after the fix is deployed)."""
    if not event_id and not replay_all:
        fail("name events with --event-id, or replay them all with --all", code=2)
    settings = load_settings()
    ids = None if replay_all else list(event_id or [])
    for name in _consumers(service):
        if settings.events.is_memory:
            count = run(_request_replay(settings, name, ids))
            out.print(f"{name}: {count} marked for replay (picked up by the running service)")
        else:
            from devgen.kit.events import amqp_admin

            count = run(amqp_admin.replay_dead_letters(settings.events, name, ids))
            out.print(f"{name}: {count} moved back to its queue")


async def _request_replay(settings: Settings, service: str, ids: list[str] | None) -> int:
    database = _database(settings, service)
    try:
        return await deadletters.request_replay(database, ids)
    finally:
        await database.dispose()


@app.command()
def tail(
    pattern: Annotated[str, typer.Option(help="Event types to show (topic pattern).")] = "#",
) -> None:
    """Print every event as it is published (JSON, one per line) until interrupted."""
    from devgen.kit.events.patterns import check_pattern

    try:
        check_pattern(pattern)
    except ValueError as exc:
        fail(str(exc), code=2)
    settings = load_settings()
    try:
        run(_tail(settings, pattern))
    except KeyboardInterrupt:
        return


async def _tail(settings: Settings, pattern: str) -> None:
    if not settings.events.is_memory:
        from devgen.kit.events import amqp_admin

        async for body in amqp_admin.tail(settings.events, pattern):
            out.print(body.decode(errors="replace"), highlight=False, soft_wrap=True)
        return
    await _tail_outboxes(settings, pattern)


async def _tail_outboxes(settings: Settings, pattern: str, poll_seconds: float = 0.5) -> None:
    # The in-process bus lives inside the running platform; what it carries
    # is in the services' outboxes, which are read here from the last row on.
    from devgen.kit.events.patterns import matches

    emitters = [n for n in available_services() if has_outbox(load_definition(n).metadata)]
    databases = {name: _database(settings, name) for name in emitters}
    positions: dict[str, int] = {}
    try:
        for name, database in databases.items():
            async with database.transaction() as session:
                last = await session.scalar(
                    select(outbox.c.position).order_by(outbox.c.position.desc())
                )
            positions[name] = int(last or 0)
        while True:
            for name, database in databases.items():
                async with database.transaction() as session:
                    rows = (
                        await session.execute(
                            select(outbox.c.position, outbox.c.type, outbox.c.envelope)
                            .where(outbox.c.position > positions[name])
                            .order_by(outbox.c.position)
                        )
                    ).all()
                for row in rows:
                    positions[name] = row.position
                    if matches(pattern, row.type):
                        out.print(json.dumps(json.loads(row.envelope)), highlight=False)
            await asyncio.sleep(poll_seconds)
    finally:
        for database in databases.values():
            await database.dispose()


@app.command()
def declare() -> None:
    """Declare every consuming service's RabbitMQ queues (before its first start)."""
    settings = load_settings()
    if settings.events.is_memory:
        fail("DEVGEN_BUS_URL is memory://: there is nothing to declare", code=2)
    from devgen.kit.events import amqp_admin

    groups = {
        name: [consumer.pattern for consumer in load_definition(name).consumers]
        for name in _consumers(None)
    }
    run(amqp_admin.declare_topology(settings.events, groups))
    for name, patterns in groups.items():
        out.print(f"{settings.events.bus_prefix}.{name}: {', '.join(patterns)}")

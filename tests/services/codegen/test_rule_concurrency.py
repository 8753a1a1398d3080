"""Generated rules hold under concurrent requests, on PostgreSQL and on SQLite.

Each test generates an example, serves it with uvicorn (its routes run in a thread pool, so
requests overlap on their own database connections) and fires a burst of requests that
would each break a rule if they all passed its check: more loans than a member may have
open, the same loan twice, overlapping trips of one vehicle, messages of one ticket that
would get the same number, lines of one order whose total each would compute without the
others, moves of one record each checked against the state before the others. The rule
holds (exactly the allowed rows are stored) and every refused request gets the 409
envelope, never a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest

from devgen.services.codegen.engines import generate
from devgen.services.codegen.spec import validate_spec
from tests import databases
from tests.helpers import eventually_sync

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
RULE_SPECS = Path(__file__).resolve().parent / "rule_specs"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BURST = 10
API_TOKEN = "concurrency-test-token"
SECRET_KEY = "concurrency-test-secret-key-of-48-characters-xx"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_admin_url() -> str:
    server = databases.POSTGRES_SERVER.replace("postgresql+asyncpg://", "postgresql://")
    return f"{server}/postgres"


def _admin(statement: str) -> None:
    with psycopg.connect(_postgres_admin_url(), autocommit=True) as connection:
        connection.execute(statement)  # type: ignore[arg-type]  # a test's own fixed DDL


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: one of its own on the PostgreSQL server, or a SQLite file."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
        return
    reason = databases.postgres_unreachable_reason()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"rules_race_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _postgres_admin_url().rsplit("/", 1)[0] + f"/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _serve(
    example: str, database_url: str, root: Path, spec_file: Path | None = None
) -> Iterator[httpx.Client]:
    """Generate ``example`` (or ``spec_file``) into ``root``, serve it on ``database_url``."""
    spec_file = spec_file or EXAMPLES / f"{example}.spec.json"
    spec = validate_spec(json.loads(spec_file.read_text("utf-8")))
    generate(spec).write(root)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "API_TOKEN": API_TOKEN,
        "SECRET_KEY": SECRET_KEY,
    }
    log = (root / "server.log").open("w", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port), "--no-access-log"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    limits = httpx.Limits(max_connections=BURST * 2, max_keepalive_connections=BURST * 2)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits)
    try:
        eventually_sync(
            lambda: client.get("/ready").status_code == 200,
            ignoring=(httpx.TransportError,),
            timeout=60,
            what=f"the generated {example} service is ready",
        )
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=15)
        log.close()
        server_log = (root / "server.log").read_text(encoding="utf-8")
        # A refused write is a 409; a traceback in the log is a 500 the statuses may hide.
        assert "Traceback" not in server_log, server_log[-4000:]


@pytest.fixture
def library(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    """The library example (static bearer token), served."""
    with _serve("library", database_url, tmp_path / "library") as client:
        client.headers["Authorization"] = f"Bearer {API_TOKEN}"
        yield client


@pytest.fixture
def fleet(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    """The fleet example (no authentication), served."""
    with _serve("fleet", database_url, tmp_path / "fleet") as client:
        yield client


@pytest.fixture
def inventory(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    """The inventory example (no authentication), served."""
    with _serve("inventory", database_url, tmp_path / "inventory") as client:
        yield client


@pytest.fixture
def orders(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    """The orders rule spec (computed totals over lines, a state machine), served.

    No example has a computed field over children (inventory's stock value is a product of
    the row's own fields, which no other request can race), so this is the rule spec's.
    """
    with _serve("orders", database_url, tmp_path / "orders", RULE_SPECS / "orders.json") as client:
        yield client


@pytest.fixture
def helpdesk(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    """The helpdesk example (accounts), served and signed in as a new account."""
    with _serve("helpdesk", database_url, tmp_path / "helpdesk") as client:
        account = {"email": "agent@example.com", "password": "correct horse battery"}
        assert client.post("/auth/register", json=account).status_code == 201
        token = client.post("/auth/login", json=account).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _created(client: httpx.Client, path: str, body: dict[str, object]) -> int:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _burst(send: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """``send(i)`` for i in range(BURST), every thread released at the same moment."""
    start = threading.Barrier(BURST)

    def one(i: int) -> httpx.Response:
        start.wait()
        return send(i)

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(one, range(BURST)))


def _statuses(responses: list[httpx.Response]) -> Counter[int]:
    """The statuses of ``responses``; each refusal is the error envelope of a conflict."""
    for response in responses:
        if response.status_code == 409:
            assert isinstance(response.json()["detail"], str), response.text
    return Counter(response.status_code for response in responses)


def _all(client: httpx.Client, path: str, **params: object) -> list[dict[str, object]]:
    response = client.get(path, params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def _member_and_books(client: httpx.Client, books: int) -> tuple[int, list[int]]:
    member = _created(client, "/members", {"name": "Ada", "email": "ada@example.com"})
    book_ids = [
        _created(
            client,
            "/books",
            {"title": f"Book {i}", "author": "Anon", "isbn": f"isbn-{i}", "publication_year": 1990},
        )
        for i in range(books)
    ]
    return member, book_ids


def _loan(member: int, book: int) -> dict[str, object]:
    return {"lent_on": "2026-03-01", "due_date": "2026-03-15", "member_id": member, "book_id": book}


def test_concurrent_loans_never_exceed_a_members_open_loan_limit(library: httpx.Client) -> None:
    """count_limit: a member can have at most 3 open loans, however many requests race."""
    member, books = _member_and_books(library, BURST)

    responses = _burst(lambda i: library.post("/loans", json=_loan(member, books[i])))

    assert _statuses(responses) == {201: 3, 409: BURST - 3}
    stored = [loan for loan in _all(library, "/loans") if loan["member_id"] == member]
    assert len(stored) == 3


def test_concurrent_duplicate_loans_store_one(library: httpx.Client) -> None:
    """unique_together: the same member cannot borrow the same book twice at once."""
    member, books = _member_and_books(library, 1)

    responses = _burst(lambda _: library.post("/loans", json=_loan(member, books[0])))

    assert _statuses(responses) == {201: 1, 409: BURST - 1}
    assert len(_all(library, "/loans")) == 1


def test_concurrent_overlapping_trips_of_one_vehicle_store_one(fleet: httpx.Client) -> None:
    """no_overlap: trips of the same vehicle must not overlap, however many requests race."""
    vehicle = _created(
        fleet,
        "/vehicles",
        {
            "plate_number": "AB-123-CD",
            "make": "Renault",
            "model": "Kangoo",
            "year": 2022,
            "mileage": 1000,
            "fuel_type": "diesel",
        },
    )
    first = dt.date(2026, 5, 1)

    def trip(i: int) -> httpx.Response:
        # Every interval holds day 9 (i < BURST): each pair overlaps.
        start, end = first + dt.timedelta(days=i), first + dt.timedelta(days=i + BURST)
        body = {
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "distance": "12.50",
            "purpose": f"delivery {i}",
            "vehicle_id": vehicle,
        }
        return fleet.post("/trips", json=body)

    responses = _burst(trip)

    assert _statuses(responses) == {201: 1, 409: BURST - 1}
    stored = _all(fleet, "/trips")
    assert len(stored) == 1


def test_concurrent_messages_of_one_ticket_get_distinct_numbers(helpdesk: httpx.Client) -> None:
    """managed_sequence: messages of a ticket are numbered 1, 2, 3… with no number twice."""
    customer = _created(helpdesk, "/customers", {"name": "Bo", "email": "bo@example.com"})
    ticket = _created(
        helpdesk,
        "/tickets",
        {"subject": "Jam", "description": "It jams", "priority": "low", "customer_id": customer},
    )

    responses = _burst(
        lambda i: helpdesk.post(
            "/messages",
            json={"body": f"message {i}", "sent_at": "2026-03-01T10:00:00Z", "ticket_id": ticket},
        )
    )

    # Numbering never refuses a message: each waits its turn and takes the next number.
    assert _statuses(responses) == {201: BURST}
    numbers = sorted(int(m["number"]) for m in _all(helpdesk, "/messages"))  # type: ignore[call-overload]
    assert numbers == list(range(1, BURST + 1))


def _warehouse_and_products(client: httpx.Client, capacity: int) -> tuple[int, list[int]]:
    warehouse = _created(
        client,
        "/warehouses",
        {"code": "W1", "name": "Main", "address": "1 Dock Road", "capacity": capacity},
    )
    products = [
        _created(
            client,
            "/products",
            {"sku": f"sku-{i}", "name": f"Part {i}", "price": "1.00", "description": "a part"},
        )
        for i in range(BURST)
    ]
    return warehouse, products


def _stock(warehouse: int, product: int) -> dict[str, object]:
    return {"quantity": 1, "unit_cost": "1.00", "product_id": product, "warehouse_id": warehouse}


def test_concurrent_stock_levels_never_exceed_the_warehouses_capacity(
    inventory: httpx.Client,
) -> None:
    """count_limit by a field of the parent: no more stock levels than the capacity."""
    warehouse, products = _warehouse_and_products(inventory, 3)

    responses = _burst(
        lambda i: inventory.post("/stock_levels", json=_stock(warehouse, products[i]))
    )

    assert _statuses(responses) == {201: 3, 409: BURST - 3}
    assert len(_all(inventory, "/stock_levels")) == 3


def test_lowering_a_capacity_while_stock_levels_arrive_keeps_the_limit(
    inventory: httpx.Client,
) -> None:
    """The parent's side of the count limit: its capacity never ends below its children."""
    warehouse, products = _warehouse_and_products(inventory, BURST)

    def send(i: int) -> httpx.Response:
        if i == 0:
            return inventory.patch(f"/warehouses/{warehouse}", json={"capacity": 2})
        return inventory.post("/stock_levels", json=_stock(warehouse, products[i]))

    statuses = _statuses(_burst(send))

    assert set(statuses) <= {200, 201, 409}
    capacity = inventory.get(f"/warehouses/{warehouse}").json()["capacity"]
    assert len(_all(inventory, "/stock_levels")) <= capacity


def _line(order: int, quantity: int, price: str) -> dict[str, object]:
    return {"quantity": quantity, "unit_price": price, "order_id": order}


def test_concurrent_line_writes_keep_the_orders_total(orders: httpx.Client) -> None:
    """computed over children: the total and line count match the lines after a burst.

    Creates, updates and deletes of one order's lines race; each recomputes the order's
    total, and none may leave it without another's line.
    """
    order = _created(orders, "/orders", {"reference": "PO-1"})
    lines = [_created(orders, "/order_lines", _line(order, i + 1, "2.50")) for i in range(BURST)]

    def send(i: int) -> httpx.Response:
        if i % 3 == 0:
            return orders.post("/order_lines", json=_line(order, 7, f"1.{i:02d}"))
        if i % 3 == 1:
            return orders.patch(f"/order_lines/{lines[i]}", json={"quantity": 100 + i})
        return orders.delete(f"/order_lines/{lines[i]}")

    statuses = _statuses(_burst(send))

    assert set(statuses) <= {200, 201, 204}, statuses
    stored = [line for line in _all(orders, "/order_lines") if line["order_id"] == order]
    expected = sum(
        (int(line["quantity"]) * Decimal(str(line["unit_price"])) for line in stored),  # type: ignore[call-overload]
        start=Decimal(0),
    )
    saved = orders.get(f"/orders/{order}").json()
    assert Decimal(saved["order_total"]) == expected
    assert saved["line_count"] == len(stored)


def test_concurrent_moves_of_one_order_make_exactly_one(orders: httpx.Client) -> None:
    """state_machine: a submitted order is approved or cancelled, never one then the other.

    Both moves are allowed from submitted, and neither from the other (both terminal): the
    first move wins, the requests for the same state change nothing, the others get 409.
    """
    order = _created(orders, "/orders", {"reference": "PO-2"})
    assert orders.patch(f"/orders/{order}", json={"status": "submitted"}).status_code == 200
    targets = ["approved", "cancelled"]

    responses = _burst(lambda i: orders.patch(f"/orders/{order}", json={"status": targets[i % 2]}))

    assert _statuses(responses) == {200: BURST // 2, 409: BURST // 2}
    (winner,) = {r.json()["status"] for r in responses if r.status_code == 200}
    assert orders.get(f"/orders/{order}").json()["status"] == winner


def test_edits_racing_a_close_never_change_the_closed_ticket(helpdesk: httpx.Client) -> None:
    """state_machine with a frozen state: edits racing a close never change the closed ticket.

    An edit checked against ``pending`` (read before the close committed) but written after
    it would change a closed ticket: the subject a close answers with must stay the stored
    one.
    """
    customer = _created(helpdesk, "/customers", {"name": "Bo", "email": "bo@example.com"})
    ticket = _created(
        helpdesk,
        "/tickets",
        {"subject": "Jam", "description": "It jams", "priority": "low", "customer_id": customer},
    )
    assert helpdesk.patch(f"/tickets/{ticket}", json={"status": "pending"}).status_code == 200

    def send(i: int) -> httpx.Response:
        if i % 2 == 0:
            return helpdesk.patch(f"/tickets/{ticket}", json={"status": "closed"})
        return helpdesk.patch(f"/tickets/{ticket}", json={"subject": f"Jam {i}"})

    responses = _burst(send)

    statuses = _statuses(responses)
    assert set(statuses) <= {200, 409}, statuses
    # The first close to run is allowed (pending → closed); nothing changes a closed ticket.
    closes = [r.json() for r in responses[::2] if r.status_code == 200]
    assert closes, statuses
    stored = helpdesk.get(f"/tickets/{ticket}").json()
    assert stored["status"] == "closed"
    assert {close["subject"] for close in closes} == {stored["subject"]}

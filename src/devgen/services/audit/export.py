"""Exports for compliance: one chain's records over a time range, streamed, with a signed end.

The records of a time range are a contiguous run of the chain (``first`` to
``last``). The export ends with a signed checkpoint of ``last``: whoever
holds the file can recompute every hash from the first record's
``prev_hash`` and check that the run ends where audit signed it did.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

from devgen.kit.db import Database
from devgen.services.audit import repository
from devgen.services.audit.chain import HASHED_FIELDS, plain_value
from devgen.services.audit.models import AuditCheckpoint, AuditRecord
from devgen.services.audit.schemas import CheckpointRead

COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
_PAGE = 500
# Cells a spreadsheet reads as a formula (OWASP "CSV injection"), and the
# quote itself, so that dropping one leading quote always gives the value back.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell that no spreadsheet runs: ``'`` before a risky first character.

    To get the value back (e.g. to recompute a hash), drop the leading ``'``
    of every cell that starts with one.
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def record_document(record: AuditRecord) -> dict[str, Any]:
    """A record as plain JSON values, in export column order."""
    return {name: plain_value(getattr(record, name)) for name in COLUMNS}


def checkpoint_document(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as JSON."""
    return CheckpointRead.model_validate(checkpoint).model_dump(mode="json")


async def _records(
    database: Database, chain: str, first: int, last: int
) -> AsyncIterator[AuditRecord]:
    # Page by sequence number, each page in a short transaction of its own, so
    # a long download holds no transaction (nor, on SQLite, the write lock) open.
    next_seq = first
    while next_seq <= last:
        async with database.sessionmaker() as session:
            page = [
                record
                async for record in repository.chain_records(
                    session, chain, next_seq, min(last, next_seq + _PAGE - 1)
                )
            ]
        for record in page:
            yield record
        next_seq += _PAGE


async def jsonl(
    database: Database,
    chain: str,
    first: int | None,
    last: int | None,
    checkpoint: dict[str, Any] | None,
) -> AsyncIterator[bytes]:
    """JSON Lines: one record per line, then ``{"checkpoint": …}``."""
    if first is not None and last is not None:
        async for record in _records(database, chain, first, last):
            yield (json.dumps(record_document(record), ensure_ascii=False) + "\n").encode()
    yield (json.dumps({"checkpoint": checkpoint}) + "\n").encode()


async def csv_rows(
    database: Database, chain: str, first: int | None, last: int | None
) -> AsyncIterator[bytes]:
    """CSV with a header row; ``data`` as JSON text (the checkpoint travels in a header).

    Every cell goes through ``csv_cell``: what a user sent (a User-Agent,
    a resource id) never reaches a spreadsheet as a formula.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    if first is not None and last is not None:
        async for record in _records(database, chain, first, last):
            document = record_document(record)
            document["data"] = json.dumps(document["data"], sort_keys=True, ensure_ascii=False)
            writer.writerow([csv_cell(document[c]) for c in COLUMNS])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()

"""`values_list` rows read with psycopg's compiled timestamp loader (a page that reads thousands of datetimes).

Django registers a pure-Python `timestamptz` loader on its PostgreSQL connections (it subclasses psycopg's Python
loader to set the zone: Django ticket #36960), about 5 µs a value: a month of 2,000 plans spends 20 ms in it for
two columns. Here the query is compiled from the ORM and run on a cursor that loads `timestamptz` with psycopg's
compiled loader, which gives the same aware UTC datetimes when the session's zone is UTC (Django sets it so with
USE_TZ and no per-database TIME_ZONE). Anywhere else (SQLite, another zone, no compiled psycopg) the ORM reads the
rows as usual. Field converters are applied either way (compiler.results_iter).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet


def _compiled_loader(connection: Any) -> type | None:
    """psycopg's compiled timestamptz text loader, when this connection can use it."""
    if connection.vendor != "postgresql" or connection.timezone is not datetime.UTC:
        return None
    try:
        import psycopg
        from psycopg.postgres import types
        from psycopg.types.datetime import TimestamptzLoader
    except ImportError:  # pragma: no cover - psycopg 2
        return None
    loader = psycopg.adapters.get_loader(types["timestamptz"].oid, psycopg.pq.Format.TEXT)
    return None if loader is None or loader is TimestamptzLoader else loader


def value_rows(queryset: QuerySet[Any], *fields: str) -> list[tuple[Any, ...]]:
    """`list(queryset.values_list(*fields))`, one query, datetimes loaded by compiled code on PostgreSQL."""
    values = queryset.values_list(*fields)
    connection = connections[values.db]
    loader = _compiled_loader(connection)
    if loader is None:
        return list(values)
    compiler = values.query.get_compiler(using=values.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", loader)  # this cursor only
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return list(compiler.results_iter([rows], tuple_expected=True))


def raw_rows(sql: str, params: list[Any] | tuple[Any, ...], *, using: str = "default") -> list[tuple[Any, ...]]:
    """The rows of a raw query, `timestamptz` loaded by compiled code on PostgreSQL as in value_rows. No field
    converters run: on SQLite a datetime column comes back naive (aware_utc makes it aware)."""
    connection = connections[using]
    loader = _compiled_loader(connection)
    with connection.cursor() as cursor:
        if loader is not None:
            cursor.cursor.adapters.register_loader("timestamptz", loader)  # this cursor only
        cursor.execute(sql, params)
        return cursor.fetchall()


def aware_utc(moment: datetime.datetime) -> datetime.datetime:
    """A datetime read by raw_rows, aware in UTC (SQLite stores naive UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)

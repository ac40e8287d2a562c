"""Model queries compiled from the ORM once per process (a hot page's fixed queries: their compilation costs
more than their SQL). The query is built with stand-in values; each call runs the same SQL with the real values
put in their place and builds the instances as Django's ModelIterable does (select_related included).
Only for querysets without prefetch_related, known related objects or deferred loading decided per call."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Hashable
from typing import Any

from django.db import connections
from django.db.models.query import get_related_populators


class CompiledQuery:
    """`build(stand_in)`: the queryset with `stand_in` wherever the value goes; the SQL is compiled once per
    database alias and `key` (what else the query's shape depends on, e.g. a setting)."""

    def __init__(self, build: Callable[[Any], Any], stand_in: int) -> None:
        self.build = build
        self.stand_in = stand_in
        self._compiled: dict[Hashable, tuple[Any, str, tuple[Any, ...]]] = {}

    def _compile(self, using: str, key: Hashable, extra: tuple[Any, ...]) -> tuple[Any, str, tuple[Any, ...]]:
        if (using, key) not in self._compiled:
            queryset = self.build(self.stand_in)
            if queryset._prefetch_related_lookups or queryset._known_related_objects:
                raise AssertionError("a compiled query cannot prefetch")
            compiler = queryset.query.get_compiler(using=using)
            sql, params = compiler.as_sql()  # fills compiler.select, klass_info, annotation_col_map
            if list(params).count(self.stand_in) != 1:
                raise AssertionError("the compiled query lost its stand-in")
            if any(_adapted(using, stand_in) not in params for stand_in in extra):
                raise AssertionError("the compiled query lost one of its other stand-ins")
            self._compiled[using, key] = (compiler, sql, tuple(params))
        return self._compiled[using, key]

    def all(
        self, value: int, *, using: str = "default", key: Hashable = None, extra: dict[Any, Any] | None = None
    ) -> list[Any]:
        """`extra`: other stand-ins `build` put in the query (a date, another id) → their values in this call."""
        extra = extra or {}
        compiler, sql, params = self._compile(using, key, tuple(extra))
        others = {_adapted(using, stand_in): _adapted(using, real) for stand_in, real in extra.items()}
        values = [
            int(value)
            if p == self.stand_in and not isinstance(p, bool)
            else others[p]
            if others and isinstance(p, Hashable) and p in others and not isinstance(p, bool)
            else p
            for p in params
        ]
        with connections[using].cursor() as cursor:
            cursor.execute(sql, values)
            rows = cursor.fetchall()
        select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
        model_cls = klass_info["model"]
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        init_list = [f[0].target.attname for f in select[start:end]]
        populators = get_related_populators(klass_info, select, using)  # type: ignore[call-arg]  # stubs: Django 6
        objects = []
        for row in compiler.results_iter([rows]):
            obj = model_cls.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in annotation_col_map.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects


def _adapted(using: str, value: Any) -> Any:
    """A value as it stands in the compiled parameters (SQLite's backend turns dates into text)."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return connections[using].ops.adapt_datefield_value(value)
    return value

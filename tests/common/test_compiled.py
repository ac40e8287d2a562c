"""common.compiled.CompiledQuery: a query compiled once, run with each call's values in place of its stand-ins."""

import datetime

import pytest
from django.db import connection

from approvals.models import Delegation
from common.compiled import CompiledQuery
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(1901, 2, 3)


def _delegations():
    return CompiledQuery(
        lambda pk: Delegation.objects.filter(deputy_id=pk, starts_on__lte=DAY, ends_on__gte=DAY).order_by("pk"),
        stand_in=2_147_480_099,
    )


@pytest.mark.parametrize("as_text", [False, True], ids=["dates as the driver takes them", "dates as text (SQLite)"])
def test_each_call_gets_its_own_values(monkeypatch, as_text):
    if as_text:  # SQLite's backend adapts a date to its ISO text: the stand-in is found and replaced as such
        monkeypatch.setattr(
            connection.ops, "adapt_datefield_value", lambda value: None if value is None else str(value)
        )
    principal, deputy, other = UserFactory(), UserFactory(), UserFactory()
    today = datetime.date(2026, 12, 6)
    kept = Delegation.objects.create(principal=principal, deputy=deputy, starts_on=today, ends_on=today)
    query = _delegations()
    for _ in range(2):  # compiled on the first call, reused on the second
        assert query.all(deputy.pk, extra={DAY: today}) == [kept]
        assert query.all(other.pk, extra={DAY: today}) == []
        assert query.all(deputy.pk, extra={DAY: today + datetime.timedelta(days=1)}) == []

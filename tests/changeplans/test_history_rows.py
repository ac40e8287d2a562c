"""The plan page's history entries rendered in Python (changeplans/history_rows.py) are the bytes of their
reference template (templates/changeplans/inc/history_rows.html), on every kind of entry, in both languages."""

import datetime

import pytest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from changeplans.choices import EventKind
from changeplans.history_rows import render_history_rows
from changeplans.models import PlanEvent
from demo.plans import load_demo
from tests.factories import PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

AWKWARD = "Кавычки \"двойные\" и 'одинарные', <b>тег</b> & амперсанд"


@pytest.fixture
def events():
    """The demo's history (real services wrote it) and entries of every shape the page shows."""
    load_demo()
    plan = PlanFactory(author=UserFactory(username="hist", last_name="О'Брайен", first_name="<А.>"))
    at = datetime.datetime(2026, 3, 29, 0, 30, tzinfo=datetime.UTC)  # near a DST change in Europe
    shapes = [
        {"kind": EventKind.CREATED, "object_label": AWKWARD},
        {"kind": EventKind.TRANSITION, "object_type": "plan", "from_status": "draft", "to_status": "in_review"},
        {"kind": EventKind.TRANSITION, "object_type": "plan", "from_status": "", "to_status": "draft"},
        {"kind": EventKind.TRANSITION, "object_type": "plan", "from_status": "draft", "to_status": ""},
        {"kind": EventKind.TRANSITION, "object_type": "step", "from_status": "nonsense", "to_status": "done"},
        {
            "kind": EventKind.EDITED,
            "object_type": "step",
            "object_label": "Шаг 3",
            "changes": {
                "planned_time": ["21:00:00", "22:30:00"],
                "planned_date": ["2026-03-28", None],
                "no_rollback_needed": [False, True],
                "kind": ["work", "check"],
                "name": ["", AWKWARD * 3],
                "description": "без пары",
                "not_a_field": [1, 2],
            },
        },
        {
            "kind": EventKind.EDITED,
            "object_type": "plan",
            "changes": {"window_start": ["2026-03-29T00:30:00+00:00", "2026-03-29T01:30:00+00:00"]},
        },
        {"kind": EventKind.EDITED, "changes": {"services": ["www.nskes.ru", "narod.nskes.ru"], "order": [[1, 2], []]}},
        {"kind": EventKind.REFUSED, "comment": AWKWARD, "actor": None},
        {"kind": EventKind.ALERT, "changes": {"minutes": 15}, "comment": "Превышение окна"},
        {"kind": EventKind.IMPORTED, "changes": {"steps": 12, "risks": [3, 4]}},
        {"kind": EventKind.VERSION, "changes": {"version": 2}, "object_label": ""},
        {"kind": EventKind.EDITED, "object_type": "rollbackaction", "changes": {"text": ["старый", "новый"]}},
        {"kind": EventKind.EDITED, "object_type": "unknown", "changes": {"x": [1, 2]}},
    ]
    for number, shape in enumerate(shapes):
        fields = {"actor": plan.author, "object_type": "plan", **shape}
        PlanEvent.objects.create(plan=plan, at=at + datetime.timedelta(minutes=number), **fields)
    return list(PlanEvent.objects.select_related("actor").order_by("plan_id", "at", "id"))


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("zone", ["Asia/Novosibirsk", "Europe/Berlin"])
def test_the_python_rows_are_the_templates_bytes(events, language, zone):
    assert len(events) > 20
    with translation.override(language), timezone.override(zone):
        reference = render_to_string("changeplans/inc/history_rows.html", {"events": events})
        assert render_history_rows(events) == reference
    assert "&lt;b&gt;тег&lt;/b&gt;" in reference and "→" in reference


def test_no_entries_no_rows():
    assert render_history_rows([]) == render_to_string("changeplans/inc/history_rows.html", {"events": []}) == ""

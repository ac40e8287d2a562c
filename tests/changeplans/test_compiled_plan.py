"""The plan page's plan, read by SQL compiled once per process (common.compiled, views._shown_plan)."""

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from changeplans import lint_data, views
from changeplans.selectors import plan_queryset
from tests.changeplans.test_rows import load_demo


def _fields(plan):
    return (
        {f.attname: getattr(plan, f.attname) for f in plan._meta.concrete_fields},
        plan.author.username,
        plan.curator and plan.curator.pk,
        plan.responsible and str(plan.responsible),
        getattr(plan, "lint_generation", None),
    )


@pytest.mark.django_db
def test_each_plan_is_read_as_the_orm_reads_it(running_plan):
    demo = load_demo()
    for plan in (demo, running_plan, demo):
        with CaptureQueriesContext(connection) as queries:
            shown = views._shown_plan(plan.pk)
            services = [ps.service.name for ps in shown.plan_services.all()]
        assert len(queries) == 2  # the plan, its services
        orm = lint_data.with_generation(plan_queryset()).get(pk=plan.pk)
        assert shown.pk == plan.pk and _fields(shown) == _fields(orm)
        assert services == [ps.service.name for ps in orm.plan_services.select_related("service")]
    with pytest.raises(Http404):
        views._shown_plan(2_000_000_000)

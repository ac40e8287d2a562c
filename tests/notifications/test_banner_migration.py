"""Banners moved from notifications to changeplans (issue 12): a database with banners and webhook calls keeps them.

Migrates the test database back to before the move, writes rows with the models of that time, migrates
forward and reads them with today's models.
"""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from changeplans import banners
from changeplans.models import Banner
from notifications.models import WebhookDelivery

BEFORE = [("notifications", "0005_delivery_group_help"), ("changeplans", "0007_date_bounds_plan_local_contact")]
AT = datetime.datetime(2025, 3, 20, 13, 0, tzinfo=datetime.UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_the_move():
    """The schema before the move; migrated forward again afterwards whatever the test did."""
    old = _migrate(BEFORE)
    try:
        yield old
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_banners_and_webhook_deliveries_survive_the_move(before_the_move):
    # Given: the schema before the move, with an ended and an active banner and a webhook call
    old = before_the_move
    Service = old.get_model("changeplans", "Service")
    Plan = old.get_model("changeplans", "Plan")
    OldBanner = old.get_model("notifications", "Banner")
    OldDelivery = old.get_model("notifications", "WebhookDelivery")
    author = old.get_model("auth", "User").objects.create(username="khasanov")
    service = Service.objects.create(
        name="www.nskes.ru",
        display_name="Инфосайт",
        banner_webhook_url="https://hooks.nskes.ru/b",
        banner_webhook_secret="s" * 20,
    )
    other = Service.objects.create(name="lk.nskes.ru", display_name="ЛК ЮЛ")
    plan = Plan.objects.create(
        title="Calico", author=author, window_start=AT, window_end=AT + datetime.timedelta(hours=3)
    )
    ended = OldBanner.objects.create(
        service=service,
        plan=plan,
        text="Первый",
        shown_from=AT,
        shown_until=AT + datetime.timedelta(hours=1),
        created_by=author,
    )
    active = OldBanner.objects.create(
        service=service,
        plan=plan,
        text="Второй",
        shown_from=AT + datetime.timedelta(hours=1),
        ends_at=AT + datetime.timedelta(hours=3),
    )
    planless = OldBanner.objects.create(service=other, text="Без плана", shown_from=AT)
    OldDelivery.objects.create(
        key=f"banner:{active.pk}:banner.shown", service=service, url="https://hooks.nskes.ru/b", body="{}"
    )
    OldDelivery.objects.create(key="orphan", service=None, url="https://hooks.nskes.ru/b", body="{}")
    old_type = ContentType.objects.get(app_label="notifications", model="banner").pk

    # When: migrated forward to today's schema
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    cache.clear()  # the public state is cached in Redis, which outlives the test database

    # Then: the same rows, read through changeplans.Banner; deliveries name their service as a subject
    rows = {b.pk: b for b in Banner.objects.select_related("service", "plan", "created_by")}
    assert set(rows) == {ended.pk, active.pk, planless.pk}
    assert (
        rows[active.pk].service.name,
        rows[active.pk].plan.title,
        rows[active.pk].text,
        rows[active.pk].is_active,
    ) == ("www.nskes.ru", "Calico", "Второй", True)
    assert (
        rows[ended.pk].shown_until == AT + datetime.timedelta(hours=1)
        and rows[ended.pk].created_by.username == "khasanov"
    )
    assert rows[planless.pk].plan is None
    assert banners.active("www.nskes.ru")["text"] == "Второй"
    assert dict(WebhookDelivery.objects.values_list("key", "subject")) == {
        f"banner:{active.pk}:banner.shown": f"service:{service.pk}",
        "orphan": "",
    }
    assert ContentType.objects.get(app_label="changeplans", model="banner").pk == old_type
    # the constraint came along: one active banner per service
    with pytest.raises(IntegrityError), transaction.atomic():
        Banner.objects.create(service_id=service.pk, text="Третий", shown_from=AT)

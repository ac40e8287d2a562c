"""Maintenance banners: show/hide rules, one active banner per service, the public JSON endpoint
(content, cache headers, ETag/304, CORS, preflight, read-only), the embed script, the admin."""

import json
import threading
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from changeplans import banners
from changeplans.models import Banner, Service
from notifications.models import WebhookDelivery
from tests.factories import PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TEXT = "Уважаемые клиенты! 20.03.2025 с 20:00 до 23:05 (НСК) проводятся плановые работы: сайт может быть недоступен."
END = datetime(2025, 3, 20, 16, 5, tzinfo=UTC)  # 23:05 in Novosibirsk


@pytest.fixture(autouse=True)
def empty_cache():
    # The banner state is cached in Redis, which outlives the test database.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def service(db):
    return ServiceFactory(
        name="www.nskes.ru", display_name="Инфосайт", banner_origins="https://www.nskes.ru\nhttps://nskes.ru/\n"
    )


def url(name="www.nskes.ru"):
    return f"/banners/{name}.json"


def active_banners(service):
    return list(Banner.objects.filter(service=service, shown_until__isnull=True))


# --- show / hide -----------------------------------------------------------------------------------


def test_show_puts_up_one_banner_and_showing_again_returns_it(service):
    plan, actor = PlanFactory(title="Установка сетевого плагина Calico в кластере Kubernetes PROD"), UserFactory()
    step = StepFactory(plan=plan)
    banner = banners.show(service, text=TEXT, ends_at=END, plan=plan, step=step, actor=actor)
    again = banners.show(service, text="другой текст", plan=plan, actor=actor)
    assert again.pk == banner.pk and again.text == TEXT
    assert active_banners(service) == [banner]
    assert (banner.plan, banner.step, banner.created_by, banner.ends_at) == (plan, step, actor, END)
    assert banner.shown_from <= timezone.now() and banner.is_active


def test_a_second_plan_replaces_the_active_banner(service):
    first_plan, second_plan, actor = PlanFactory(), PlanFactory(), UserFactory()
    first = banners.show(service, text="Первые работы", plan=first_plan)
    second = banners.show(service, text="Вторые работы", plan=second_plan, actor=actor)
    first.refresh_from_db()
    assert first.shown_until is not None and first.removed_by == actor
    assert first.shown_until == second.shown_from
    assert active_banners(service) == [second]


def test_show_without_plan_is_idempotent_by_text(service):
    banner = banners.show(service, text=TEXT)
    assert banners.show(service, text=f"  {TEXT}\n").pk == banner.pk
    other = banners.show(service, text="Новый текст")
    assert other.pk != banner.pk and active_banners(service) == [other]


def test_show_needs_a_text(service):
    with pytest.raises(ValueError):
        banners.show(service, text="   ")
    assert not Banner.objects.exists()


def test_hide_with_a_plan_ends_only_that_plans_banner(service):
    mine, other = PlanFactory(), PlanFactory()
    banner = banners.show(service, text=TEXT, plan=mine)
    assert banners.hide(service, plan=other) == []
    assert active_banners(service) == [banner]
    actor = UserFactory()
    ended = banners.hide(service, plan=mine, actor=actor)
    assert [b.pk for b in ended] == [banner.pk]
    banner.refresh_from_db()
    assert banner.shown_until is not None and banner.removed_by == actor
    assert banners.hide(service, plan=mine) == []  # twice: nothing more to end


def test_hide_without_a_plan_ends_whatever_is_up(service):
    banners.show(service, text=TEXT, plan=PlanFactory())
    assert len(banners.hide(service)) == 1
    assert active_banners(service) == []
    assert banners.hide(service) == []


def test_the_database_refuses_a_second_active_banner(service):
    Banner.objects.create(service=service, text="один", shown_from=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Banner.objects.create(service=service, text="два", shown_from=timezone.now())


def test_banners_of_different_services_are_independent(service):
    other = ServiceFactory(name="platosfera.ru", display_name="МП Платосфера")
    plan = PlanFactory()
    banners.show(service, text=TEXT, plan=plan)
    banners.show(other, text=TEXT, plan=plan)
    banners.hide(other, plan=plan)
    assert banners.active("www.nskes.ru")["active"] is True
    assert banners.active("platosfera.ru")["active"] is False


@pytest.mark.django_db(transaction=True)
def test_simultaneous_shows_leave_one_active_banner():
    # Given one service and eight threads, each showing its own plan's banner at the same moment
    service = ServiceFactory(name="www.nskes.ru")
    plans = [PlanFactory() for _ in range(8)]
    barrier, errors = threading.Barrier(len(plans)), []

    def put_up(plan):
        try:
            barrier.wait(5)
            banners.show(Service.objects.get(pk=service.pk), text=f"Работы {plan.pk}", plan=plan)
        except Exception as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=put_up, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # Then every call succeeded (they queued on the service lock), one banner is up, seven were ended
    assert errors == []
    assert Banner.objects.filter(service=service).count() == 8
    assert len(active_banners(service)) == 1
    assert Banner.objects.filter(service=service, shown_until__isnull=False).count() == 7


# --- webhooks queued by show/hide --------------------------------------------------------------------


def test_show_and_hide_queue_a_webhook_call_each_when_the_service_has_one(service, django_capture_on_commit_callbacks):
    service.banner_webhook_url = "https://hooks.nskes.ru/banner"
    service.banner_webhook_secret = "s" * 32
    service.save()
    plan = PlanFactory(title="Установка Calico")
    with django_capture_on_commit_callbacks() as callbacks:
        banner = banners.show(service, text=TEXT, ends_at=END, plan=plan, group="plan:1:step:2")
        banners.show(service, text=TEXT, plan=plan)  # idempotent: no second call
    shown = WebhookDelivery.objects.get()
    assert shown.key == f"banner:{banner.pk}:banner.shown"
    assert (shown.url, shown.group, shown.subject, shown.state) == (
        "https://hooks.nskes.ru/banner",
        "plan:1:step:2",
        f"service:{service.pk}",
        "queued",
    )
    body = json.loads(shown.body)
    assert body["event"] == "banner.shown" and body["service"] == "www.nskes.ru" and body["active"] is True
    assert (body["text"], body["ends_at"], body["plan"]) == (
        TEXT,
        "2025-03-20T16:05:00Z",
        {"id": plan.pk, "title": "Установка Calico"},
    )
    assert body["at"].endswith("Z")
    assert len([c for c in callbacks if getattr(c, "func", None) and c.func.__name__ == "hand_over"]) == 1

    banners.hide(service, plan=plan)
    hidden = WebhookDelivery.objects.get(key=f"banner:{banner.pk}:banner.hidden")
    body = json.loads(hidden.body)
    assert (body["event"], body["active"], body["text"], body["ends_at"]) == ("banner.hidden", False, "", None)


def test_no_webhook_without_an_address(service):
    banners.show(service, text=TEXT)
    banners.hide(service)
    assert not WebhookDelivery.objects.exists()


# --- the public JSON --------------------------------------------------------------------------------


def test_json_of_an_active_banner(client, service):
    plan = PlanFactory(title="Установка сетевого плагина Calico в кластере Kubernetes PROD")
    banner = banners.show(service, text=TEXT, ends_at=END, plan=plan)
    response = client.get(url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "service": "www.nskes.ru",
        "display_name": "Инфосайт",
        "active": True,
        "text": TEXT,
        "ends_at": "2025-03-20T16:05:00Z",
        "shown_from": banner.shown_from.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    assert "Kubernetes" not in response.content.decode()  # the internal plan title stays private


def test_json_without_a_banner(client, service):
    assert client.get(url()).json() == {
        "service": "www.nskes.ru",
        "display_name": "Инфосайт",
        "active": False,
        "text": "",
        "ends_at": None,
        "shown_from": None,
    }


def test_json_follows_show_and_hide_at_once(client, service):
    # Given a cached "no banner"
    assert client.get(url()).json()["active"] is False
    # When the banner is shown, then hidden, the next read sees each change (the cache was dropped)
    banners.show(service, text=TEXT)
    assert client.get(url()).json()["text"] == TEXT
    banners.hide(service)
    assert client.get(url()).json()["active"] is False


def test_cache_is_dropped_again_after_commit(service, django_capture_on_commit_callbacks):
    # A reader in another transaction may cache the old state before the commit: the
    # after-commit drop removes what it cached.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        banners.show(service, text=TEXT)
    cache.set(banners.cache_key("www.nskes.ru"), "stale", 300)
    for callback in callbacks:
        callback()
    assert cache.get(banners.cache_key("www.nskes.ru")) is None
    assert banners.active("www.nskes.ru")["text"] == TEXT


def test_cache_headers_etag_and_304(client, service):
    banners.show(service, text=TEXT)
    with override_settings(OKNO_BANNER_CACHE_SECONDS=42):
        response = client.get(url())
    assert response["Cache-Control"] == "public, max-age=42"
    etag = response["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    # Same state: 304 with no body, same validators
    again = client.get(url(), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and "max-age" in again["Cache-Control"]
    # A changed state: the old ETag no longer matches
    banners.hide(service)
    changed = client.get(url(), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag and changed.json()["active"] is False


def test_head_answers_like_get(client, service):
    response = client.head(url())
    assert response.status_code == 200 and response["ETag"] and response.content == b""


def test_unknown_service_is_a_json_404(client, service):
    response = client.get(url("nowhere.example.org"))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    with translation.override("ru"):
        expected = _("No service is called %(name)s.") % {"name": "nowhere.example.org"}
    assert response.json() == {"error": expected, "service": "nowhere.example.org"}
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_are_refused_with_405(client, service, method):
    response = getattr(client, method)(url(), data="{}", content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    with translation.override("ru"):
        expected = _("Method %(method)s is not allowed: this address is read-only.") % {"method": method.upper()}
    assert response.json()["error"] == expected
    assert not Banner.objects.exists()


def test_json_needs_no_login_and_sets_no_cookie(client, service):
    response = client.get(url())
    assert response.status_code == 200 and not response.cookies


# --- CORS ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://www.nskes.ru", "https://nskes.ru"])
def test_cors_allows_the_services_origins(client, service, origin):
    response = client.get(url(), HTTP_ORIGIN=origin)
    assert response["Access-Control-Allow-Origin"] == origin
    assert "Origin" in response["Vary"]
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize(
    "origin", ["https://evil.example.org", "http://www.nskes.ru", "https://www.nskes.ru.evil.org", "null"]
)
def test_cors_refuses_other_origins(client, service, origin):
    response = client.get(url(), HTTP_ORIGIN=origin)
    assert response.status_code == 200  # the data is public; the browser keeps it from the page
    assert "Access-Control-Allow-Origin" not in response
    assert "Origin" in response["Vary"]


def test_cors_is_per_service(client, service):
    ServiceFactory(name="platosfera.ru", banner_origins="https://platosfera.ru")
    response = client.get(url("platosfera.ru"), HTTP_ORIGIN="https://www.nskes.ru")
    assert "Access-Control-Allow-Origin" not in response


def test_304_keeps_the_cors_header(client, service):
    etag = client.get(url())["ETag"]
    response = client.get(url(), HTTP_IF_NONE_MATCH=etag, HTTP_ORIGIN="https://www.nskes.ru")
    assert response.status_code == 304 and response["Access-Control-Allow-Origin"] == "https://www.nskes.ru"


def test_preflight_of_an_allowed_origin(client, service):
    response = client.options(
        url(),
        HTTP_ORIGIN="https://www.nskes.ru",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="If-None-Match, X-Custom",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://www.nskes.ru"
    assert response["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "if-none-match"
    assert int(response["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response and "Origin" in response["Vary"]


def test_preflight_of_another_origin_grants_nothing(client, service):
    response = client.options(url(), HTTP_ORIGIN="https://evil.example.org", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert response.status_code == 204
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


# --- queries and the cache ---------------------------------------------------------------------------


def test_queries_do_not_grow_with_history_and_a_cached_read_needs_none(client, service, django_assert_num_queries):
    # Given a service with a long banner history and an active banner
    for n in range(30):
        banners.show(service, text=f"Работы {n}", plan=PlanFactory())
    banners.hide(service)
    banners.show(service, text=TEXT, plan=PlanFactory())
    cache.clear()
    # Then a cold read costs two queries (service, active banner with its plan) and a warm one none
    with django_assert_num_queries(2):
        assert client.get(url()).json()["text"] == TEXT
    with django_assert_num_queries(0):
        assert client.get(url()).json()["text"] == TEXT
    with django_assert_num_queries(0):
        assert client.get(url(), HTTP_IF_NONE_MATCH=client.get(url())["ETag"]).status_code == 304


def test_an_unknown_name_is_cached_briefly_too(client, service, django_assert_num_queries):
    client.get(url("nowhere.example.org"))
    with django_assert_num_queries(0):
        assert client.get(url("nowhere.example.org")).status_code == 404


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
)
def test_the_json_is_served_when_the_cache_is_down(client, service):
    banners.show(service, text=TEXT)  # the cache drop fails and is logged; the banner is up
    assert client.get(url()).json()["text"] == TEXT


# --- the embed script --------------------------------------------------------------------------------


def test_embed_script_is_served_with_a_js_type_and_cache_headers(client):
    response = client.get("/banners/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"].startswith("public, max-age=")
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    source = response.content.decode()
    assert "document.currentScript" in source and 'role", "status"' in source and ".textContent" in source
    assert "innerHTML" not in source
    assert client.get("/banners/embed.js", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert client.post("/banners/embed.js").status_code == 405


# --- admin -------------------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client, admin_user):
    client.force_login(admin_user)
    return client


def service_form(service, **changes):
    data = {
        "name": service.name,
        "display_name": service.display_name,
        "owner": "",
        "shows_banner": "on",
        "mailing_list": "",
        "announcement_from": "",
        "banner_origins": service.banner_origins,
        "banner_webhook_url": service.banner_webhook_url,
        "banner_webhook_secret": "",
        "gate_without_plan": service.gate_without_plan,
    }
    data.update(changes)
    return data


@override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["hooks.nskes.ru"])
def test_admin_never_shows_the_webhook_secret_and_empty_keeps_it(superuser_client, service):
    secret = "a-very-secret-value-0123456789"
    service.banner_webhook_url, service.banner_webhook_secret = "https://hooks.nskes.ru/banner", secret
    service.save()
    change_url = f"/admin/changeplans/service/{service.pk}/change/"
    page = superuser_client.get(change_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert secret not in html and 'type="password"' in html
    assert "Баннер" in html or "banner" in html.lower()
    # An empty input keeps the saved secret
    response = superuser_client.post(change_url, service_form(service, display_name="Инфосайт НЭС"))
    assert response.status_code == 302, response.content.decode()[:2000]
    service.refresh_from_db()
    assert (service.display_name, service.banner_webhook_secret) == ("Инфосайт НЭС", secret)
    # A new value replaces it
    superuser_client.post(change_url, service_form(service, banner_webhook_secret="another-secret-0123456789"))
    service.refresh_from_db()
    assert service.banner_webhook_secret == "another-secret-0123456789"
    assert "another-secret-0123456789" not in superuser_client.get(change_url).content.decode()
    # "Delete the saved secret" removes it (with the webhook, which cannot work unsigned)
    response = superuser_client.post(
        change_url, service_form(service, banner_webhook_url="", clear_webhook_secret="on")
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.banner_webhook_url, service.banner_webhook_secret) == ("", "")


@override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["hooks.nskes.ru"])
def test_admin_refuses_a_host_off_the_allow_list_a_missing_secret_and_a_bad_origin(superuser_client, service):
    change_url = f"/admin/changeplans/service/{service.pk}/change/"
    response = superuser_client.post(
        change_url,
        service_form(
            service,
            banner_webhook_url="https://evil.example.org/hook",
            banner_origins="https://www.nskes.ru/path",
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "OKNO_WEBHOOK_ALLOWED_HOSTS" in html and "evil.example.org" in html
    assert "https://www.nskes.ru/path" in html
    with translation.override("ru"):
        assert _("A webhook needs a secret: calls are signed with it.") in html
    service.refresh_from_db()
    assert service.banner_webhook_url == ""


def test_admin_saving_a_service_drops_its_cached_banner(superuser_client, client, service):
    assert client.get(url(), HTTP_ORIGIN="https://new.nskes.ru").get("Access-Control-Allow-Origin") is None
    change_url = f"/admin/changeplans/service/{service.pk}/change/"
    response = superuser_client.post(change_url, service_form(service, banner_origins="https://new.nskes.ru"))
    assert response.status_code == 302
    client.logout()
    assert (
        client.get(url(), HTTP_ORIGIN="https://new.nskes.ru")["Access-Control-Allow-Origin"] == "https://new.nskes.ru"
    )


def test_banner_and_webhook_admin_are_read_only(superuser_client, service):
    banner = banners.show(service, text=TEXT)
    delivery = WebhookDelivery.objects.create(
        key="k", url="https://hooks.nskes.ru/banner", body='{"event":"banner.shown","text":"Работы"}'
    )
    for path in (
        "/admin/changeplans/banner/",
        f"/admin/changeplans/banner/{banner.pk}/change/",
        "/admin/notifications/webhookdelivery/",
        f"/admin/notifications/webhookdelivery/{delivery.pk}/change/",
    ):
        response = superuser_client.get(path)
        assert response.status_code == 200, path
    assert (
        "Работы" in superuser_client.get(f"/admin/notifications/webhookdelivery/{delivery.pk}/change/").content.decode()
    )
    assert superuser_client.get("/admin/changeplans/banner/add/").status_code == 403
    response = superuser_client.post(f"/admin/changeplans/banner/{banner.pk}/change/", {"text": "x"})
    assert response.status_code == 403

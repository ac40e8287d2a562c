"""Issue 15 items 6 and 13: runbook pages show placeholders as parameter labels, kinds translated,
parameter labels in the UI's language (label_en)."""

import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from changeplans.models import Plan
from runbooks import definition, display, library
from runbooks.models import Cluster, Runbook

WINDOW = {"window_start": "2025-03-20T20:00", "window_end": "", "time_zone": "Asia/Novosibirsk"}
PARAMS = [
    {"name": "cluster", "label": "Кластер", "label_en": "Cluster"},
    {"name": "target_version", "label": "Целевая версия (X.Y.Z)"},
    {"name": "services", "label": "ЛК и сайты"},
]


@pytest.fixture
def installed(db):
    library.install()
    Cluster.objects.create(name="prod-k8s")


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _title_tag(page):
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1)


def test_readable_shows_labels_not_placeholders():
    with translation.override("ru"):
        text = display.readable("Обновление кластера {{ cluster }} до {{target_version}}: {{ services }}", PARAMS)
        assert text == "Обновление кластера ‹кластер› до ‹целевая версия›: ‹ЛК и сайты›"
        assert display.readable("{{ cluster }} и {{ node }}", PARAMS) == "‹Кластер› и ‹node›"
    with translation.override("en"):
        assert display.readable("Кластер {{ cluster }}", PARAMS) == "Кластер ‹cluster›"


def test_label_en_and_help_en_are_parsed_and_kept_on_export():
    source = (
        "title: Работы {{ cluster }}\n"
        "parameters:\n"
        "  - {name: cluster, type: cluster, label: Кластер, label_en: Cluster, help: Имя, help_en: Name}\n"
        "  - {name: note, type: string, label: Заметка, required: false}\n"
        "steps:\n  - {name: Шаг, duration: 5 мин}\n"
    )
    parsed = definition.parse(source)
    cluster, note = parsed["parameters"]
    assert (cluster["label_en"], cluster["help_en"]) == ("Cluster", "Name")
    assert "label_en" not in note and "help_en" not in note  # only when given: older definitions stay equal
    assert definition.parse(definition.dump(parsed)) == parsed
    with translation.override("en"):
        assert (display.param_label(cluster), display.param_help(cluster), display.param_label(note)) == (
            "Cluster",
            "Name",
            "Заметка",
        )
    with translation.override("ru"):
        assert (display.param_label(cluster), display.param_help(cluster)) == ("Кластер", "Имя")


def test_every_shipped_parameter_has_an_english_label(installed):
    for runbook in Runbook.objects.filter(builtin=True):
        for param in runbook.current.definition.get("parameters", []):
            assert param.get("label_en"), (runbook.slug, param["name"])
            assert bool(param.get("help")) == bool(param.get("help_en")), (runbook.slug, param["name"])


def test_list_and_detail_show_no_raw_placeholders(installed, author_client):
    page = author_client.get(reverse("runbooks:runbook_list")).content.decode()
    assert "{{" not in page
    assert "‹Название работ›" in page and "Проверка и продление сертификатов кластера ‹кластер›" in page

    page = author_client.get(reverse("runbooks:runbook_detail", args=["announcement-banner"])).content.decode()
    assert "{{" not in page
    assert _title_tag(page).strip() == "‹Название работ› · Okno"
    assert "на сервисах ‹сервисы с баннером›" in page  # step descriptions too
    assert ">Рассылка<" in page and ">announcement<" not in page  # the step kind as its label

    page = author_client.get(reverse("runbooks:runbook_detail", args=["velero-backup"])).content.decode()
    # YAML "kind: standard" of an unmarked runbook: its plans are normal (issue 18, runbooks/standard.py)
    assert re.search(r'id="runbook-kind">Обычные<', page)
    assert re.search(r'id="runbook-steps-heading">Шаги<', page)
    assert "Шагов" not in page
    assert "<title>Резервная копия пространства имён ‹пространство имён› (Velero)" in page


def test_detail_in_english(installed, author_client):
    page = _english(author_client).get(reverse("runbooks:runbook_detail", args=["velero-backup"])).content.decode()
    assert re.search(r'id="runbook-kind">Normal<', page)
    assert re.search(r'id="runbook-steps-heading">Steps<', page)
    assert "<td>Backup name<div" in page or ">Backup name<" in page
    assert "Резервная копия пространства имён ‹namespace› (Velero)" in page


def test_plan_form_labels_follow_the_language(installed, author_client):
    url = reverse("runbooks:runbook_plan_create", args=["kubeadm-upgrade"])
    page = author_client.get(url).content.decode()
    assert "Целевая версия (X.Y.Z)" in page and "Следующая минорная версия" in page
    assert "{{" not in page and "Обновление кластера ‹кластер› до Kubernetes ‹целевая версия› (kubeadm)" in page
    page = _english(author_client).get(url).content.decode()
    assert "Target version (X.Y.Z)" in page and "The next minor version, e.g. 1.30.4" in page
    assert "Worker nodes" in page and "Рабочие узлы" not in page and "Целевая версия" not in page


def test_flash_history_and_plan_card_show_readable_title(installed, author_client):
    url = reverse("runbooks:runbook_plan_create", args=["announcement-banner"])
    response = author_client.post(
        url, {**WINDOW, "p_work_title": "Замена дисков", "p_services": "Инфосайт"}, follow=True
    )
    plan = Plan.objects.get()
    assert plan.title == "Замена дисков"  # the plan itself takes the value
    page = response.content.decode()
    assert "{{" not in page
    assert "«‹Название работ›»" in page  # the flash message and the runbook card on the plan page
    assert "‹Название работ›" in plan.events.get(kind="created").comment

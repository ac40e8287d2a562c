"""The archive PDF's text in narrow columns (Russian hyphenation, identifiers whole, list numbers kept with their
text) and its history (edits summed up per step and field; the full log as an appendix on request)."""

import datetime
import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from changeplans.choices import EventKind
from changeplans.history import record_event
from changeplans.pdf import render_plan_html, render_plan_pdf
from common.text import cut_at_word
from tests.factories import PlanFactory, RiskFactory, RollbackActionFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HYPHEN = "\u2010"  # what WeasyPrint puts at a hyphenated line end
LONG_WORDS = [
    "работоспособности",
    "зарегистрировался",
    "высокодоступного",
    "неработоспособность",
    "конфигурирования",
    "маршрутизацией",
    "перезагрузившегося",
]
IDENTIFIERS = ["INFRA-2231", "INFRA-2232", "10.20.30.40", "20.03.2025", "20:05", "kube-master-01.corp.local"]


def pdf_text(pdf):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squash(text):
    return re.sub(r"\s+", "", text)


def narrow_plan():
    """A step whose narrow cells (name, risks, Jira) hold long Russian words, identifiers and numbered lists."""
    plan = PlanFactory(title="Проверка узкой колонки")
    step = StepFactory(
        plan=plan,
        position=1,
        name="Проверка работоспособности высокодоступного кластера",
        description="Пользователь зарегистрировался; по INFRA-2232 проверить kube-master-01.corp.local "
        "(10.20.30.40) 20.03.2025 в 20:05",
        expected_result="Неработоспособность не выявлена после конфигурирования",
        affected_systems="Маршрутизация перезагрузившегося узла",
        planned_date=datetime.date(2025, 3, 20),
        planned_time=datetime.time(20, 5),
        jira_key="INFRA-2231",
        no_rollback_needed=False,
    )
    RiskFactory(step=step, number=1, description="Неработоспособность маршрутизации", mitigation="")
    RiskFactory(step=step, number=2, description="Ошибки конфигурирования маршрутизацией", mitigation="")
    RollbackActionFactory(step=step, position=1, text="Вернуть конфигурацию перезагрузившегося узла")
    return plan


def test_narrow_cells_hyphenate_words_and_keep_identifiers_and_numbers_whole():
    plan = narrow_plan()

    html = render_plan_html(plan.pk)
    text = pdf_text(render_plan_pdf(plan.pk))

    assert 'lang="ru"' in html
    # The narrow columns do break words: by syllables with a hyphen, never without one.
    assert f"{HYPHEN}\n" in text
    joined = text.replace(f"{HYPHEN}\n", "")
    for word in LONG_WORDS:
        assert word in joined.lower(), f"{word} is broken without a hyphen"
    # Identifiers are never split, by a line or by a hyphen.
    for identifier in IDENTIFIERS:
        assert identifier in text, f"{identifier} is split"
    # "1." is never alone on a line: a no-break space ties it to its text.
    assert not re.search(r"(?m)^\s*\d+\.\s*$", text)
    assert re.search(r"1\.\s?Неработоспособ", joined)


def test_cut_at_word_never_cuts_a_word():
    text = "Вернуть Flannel из резервной копии и перезапустить все узлы кластера по очереди после проверки"
    cut = cut_at_word(text, 40)
    assert cut == "Вернуть Flannel из резервной копии и…"
    assert len(cut) <= 40
    assert cut_at_word("коротко", 40) == "коротко"


def edited_plan():
    plan = PlanFactory(title="План с правками", goal="новая цель")
    step = StepFactory(plan=plan, position=1, name="Бэкап etcd", duration_text="1 ч")
    author = UserFactory(username="author", last_name="Авторов", first_name="А.А.")
    editor = UserFactory(username="editor", last_name="Редакторов", first_name="Р.Р.")
    record_event(plan, actor=author, kind=EventKind.EDITED, changes={"goal": ["старая цель", "новая цель"]})
    record_event(plan, actor=author, kind=EventKind.EDITED, obj=step, changes={"duration_text": ["30 мин", "45 мин"]})
    record_event(plan, actor=editor, kind=EventKind.EDITED, obj=step, changes={"duration_text": ["45 мин", "1 ч"]})
    record_event(plan, actor=editor, kind=EventKind.EDITED, obj=step, changes={"name": ["Бэкап", "Бэкап etcd"]})
    return plan, step


def test_history_sums_edits_up_per_step_and_field():
    plan, _step = edited_plan()

    text = squash(pdf_text(render_plan_pdf(plan.pk)))

    assert squash("Было → стало") in text
    # One line per object and field: the first old value → the last new one, who, how many edits.
    assert squash("План Цель работ старая цель → новая цель Авторов А.А.") in text
    assert squash("1. Бэкап etcd Продолжительность 30 мин → 1 ч Авторов А.А., Редакторов Р.Р.") in text
    assert squash("2 правки") in text
    assert squash("Бэкап → Бэкап etcd") in text
    # The intermediate value and the full log are not in the default PDF.
    assert squash("45 мин") not in text
    assert squash("Приложение: полная история изменений") not in text


def test_full_history_appendix_on_request(client):
    plan, _step = edited_plan()
    client.force_login(UserFactory(username="reader"))

    summary = client.get(reverse("changeplans:plan_pdf", args=[plan.pk]))
    full = client.get(reverse("changeplans:plan_pdf", args=[plan.pk]) + "?history=full")

    assert summary.status_code == full.status_code == 200
    # A stored copy is served as a file (changeplans.views_pdf): getvalue() joins its stream.
    assert squash("Приложение: полная история изменений") not in squash(pdf_text(summary.getvalue()))
    full_text = squash(pdf_text(full.getvalue()))
    assert squash("Приложение: полная история изменений") in full_text
    assert squash("Продолжительность: 30 мин → 45 мин") in full_text
    assert squash("Продолжительность: 45 мин → 1 ч") in full_text


def test_rollback_labels_in_the_history_are_cut_at_a_word():
    plan = PlanFactory(title="Откат")
    step = StepFactory(plan=plan, position=1, name="Установка", no_rollback_needed=False)
    text = "Вернуть сетевой плагин Flannel из резервной копии манифестов и перезапустить поды kube-system"
    action = RollbackActionFactory(step=step, position=1, text=text)
    assert str(action).endswith("…")  # the stored label is cut at a word too
    record_event(plan, actor=None, kind=EventKind.TRANSITION, obj=action, from_status="pending", to_status="done")

    html = render_plan_html(plan.pk, full_history=True)

    appendix = html.split('class="history history-full"')[1]
    assert "Вернуть сетевой плагин Flannel из резервной копии манифестов и перезапустить…" in appendix
    assert text[:80] not in appendix  # never a cut inside a word
    # The summary leaves the execution's status changes to the execution section.
    assert "1 смена статуса шагов и действий отката" in html

"""YAML alias bombs and other oversized documents (issue 11, finding 6): refused with a message that
names the line, before anything is expanded, walked or stored; ordinary documents still load."""

import json

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from runbooks import definition, library, yaml_safe
from runbooks.models import Runbook, StepAutomation
from tests.factories import PlanFactory, StepFactory


def bomb(levels, *, prefix=""):
    """Nested aliases: `levels` lines of nine references each, 9**levels values once expanded."""
    lines = [prefix + 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijklmnopqrstuvwxyz"
    for level in range(1, levels):
        ref = f"*{names[level - 1]}"
        lines.append(f"{names[level]}: &{names[level]} [{','.join([ref] * 9)}]")
    return "\n".join(lines) + "\n"


RUNBOOK_BOMB = "slug: bomb\ntitle: Bomb\n" + bomb(9) + "steps:\n  - name: *i\n    duration: 5 мин\n"  # 9**9 values
SPEC_BOMB = "url: https://hooks.example.com/x\n" + bomb(6)  # 531 441 values, as in the issue (352 bytes)


def test_the_bombs_are_small():
    assert len(RUNBOOK_BOMB.encode()) < 600 and len(SPEC_BOMB.encode()) < 400


@pytest.mark.parametrize("levels", [6, 9])
def test_runbook_parse_refuses_aliases_and_names_the_line(levels):
    text = "slug: bomb\ntitle: Bomb\n" + bomb(levels)
    with translation.override("en"):
        with pytest.raises(definition.DefinitionError) as refused:
            definition.parse(text)
        message = refused.value.messages[0]
    assert "anchors and aliases" in message and "“&a”" in message
    assert "(line 3)" in message  # the first anchor


def test_runbook_parse_message_in_russian():
    with translation.override("ru"):
        with pytest.raises(definition.DefinitionError) as refused:
            definition.parse(RUNBOOK_BOMB)
        message = refused.value.messages[0]  # the messages are made when read: read them in Russian
    assert "якоря и ссылки YAML" in message and "строка 3" in message


@pytest.mark.django_db
def test_the_runbook_editor_refuses_the_bomb_and_keeps_the_text(author_client):
    response = author_client.post(
        reverse("runbooks:runbook_new"), {"source": RUNBOOK_BOMB, "comment": ""}, HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "&amp;a" in page or "&a" in page  # what was typed is still there
    assert "якоря и ссылки YAML" in page or "anchors and aliases" in page
    assert not Runbook.objects.exists()


@pytest.mark.django_db
def test_runbook_import_refuses_the_bomb(author_client):
    upload = SimpleUploadedFile("bomb.yaml", RUNBOOK_BOMB.encode(), content_type="text/yaml")
    response = author_client.post(reverse("runbooks:runbook_import"), {"file": upload, "comment": ""})
    assert response.status_code in (200, 422)
    assert not Runbook.objects.exists()


@pytest.mark.django_db
def test_library_import_refuses_the_bomb(author):
    with pytest.raises(definition.DefinitionError):
        library.import_runbook(RUNBOOK_BOMB, actor=author, filename="bomb.yaml")
    assert not Runbook.objects.exists()


@pytest.mark.django_db
def test_the_step_automation_editor_refuses_the_bomb_and_stores_nothing(author_client, author, settings):
    # Given an author's draft plan; when the 352-byte bomb is saved as an http spec
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = ["hooks.example.com"]
    plan = PlanFactory(author=author)
    step = StepFactory(plan=plan, position=1, name="Включить режим обслуживания")
    data = {"kind": "http", "cluster": "", "spec": SPEC_BOMB, "params": "", "timeout_seconds": "60"}
    response = author_client.post(f"/plans/{plan.pk}/steps/{step.pk}/automation/", data, HTTP_ACCEPT_LANGUAGE="ru")
    # Then it is refused with the line, the text is kept, and nothing is stored
    assert response.status_code in (200, 422)
    page = response.content.decode()
    assert "якоря и ссылки YAML" in page and "строка 2" in page
    assert "hooks.example.com" in page
    assert not StepAutomation.objects.filter(step=step).exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x 1\nb: 2\n", "anchors and aliases"),
        ("a: !!str &x 1\n", "anchors and aliases"),
        ("base: &b {k: v}\nother:\n  <<: *b\n", "anchors and aliases"),
        ("[" * 100 + "]" * 100, "nested deeper than 32"),
        ("- x\n" * 5001, "more than 5000 values"),
        ("k: '" + "x" * 70000 + "'\n", "larger than 64 KiB"),
    ],
)
def test_spec_loader_refusals(text, message):
    with translation.override("en"), pytest.raises(yaml_safe.Refused, match=message):
        yaml_safe.load_spec(text)


def test_a_refusal_is_a_yaml_error_with_its_line():
    with pytest.raises(yaml.YAMLError) as refused:
        yaml_safe.load("a: 1\nb: &x 2\n")
    assert refused.value.problem_mark.line + 1 == 2


def test_a_deep_document_is_refused_before_python_recursion():
    with translation.override("en"), pytest.raises(yaml_safe.Refused, match="nested deeper"):
        yaml_safe.load("[" * 5000 + "]" * 5000)


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("", None),
        ("args: [drain, '{{ node }}']\n", {"args": ["drain", "{{ node }}"]}),
        (
            '{"url": "https://hooks.example.com/x", "json": {"on": true}}',
            {"url": "https://hooks.example.com/x", "json": {"on": True}},
        ),
        ("text: 'a & b * c'\nstar: '*'\n", {"text": "a & b * c", "star": "*"}),
        ("when: 2025-03-20\n", {"when": __import__("datetime").date(2025, 3, 20)}),
    ],
)
def test_ordinary_documents_load(text, data):
    assert yaml_safe.load_spec(text) == data


def test_every_shipped_runbook_still_parses():
    for path in library.shipped_files():
        definition.parse(path.read_text())


def test_a_parsed_runbook_still_reports_lines():
    text = "slug: x\ntitle: X\nsteps:\n  - name: Шаг\n    duration: полчаса\n"
    with translation.override("en"), pytest.raises(definition.DefinitionError) as refused:
        definition.parse(text)
    assert refused.value.problems[0].line == 5 and refused.value.problems[0].path == "steps[0].duration"


def test_the_stored_spec_stays_small():
    # The largest spec the loader accepts stays near its text: no expansion happens.
    text = "items:\n" + "".join(f"  - v{i}\n" for i in range(4990))
    assert len(json.dumps(yaml_safe.load_spec(text))) < 2 * len(text)


def test_kubeconfig_and_inline_playbook_refuse_the_bomb():
    # A cluster's kubeconfig and an inline playbook are YAML a person pasted: the same bounded loader.
    from runbooks.kubeconfig import check_kubeconfig
    from runbooks.runners.ansible import AnsibleRunner
    from runbooks.runners.base import AutomationError

    with translation.override("en"):
        with pytest.raises(AutomationError, match="alias|anchor"):
            check_kubeconfig(SPEC_BOMB)
        with pytest.raises(AutomationError, match="alias|anchor"):
            AnsibleRunner().check({"playbook_yaml": SPEC_BOMB})

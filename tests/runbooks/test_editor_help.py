"""The runbook editor's help points to examples a user can open (the library), not to a path in Okno's source."""

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.django_db]


def test_the_editor_help_links_to_the_library(author_client):
    html = author_client.get(reverse("runbooks:runbook_new"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "docs/runbooks.md" not in html
    assert f'регламенты <a href="{reverse("runbooks:runbook_list")}">библиотеки</a>' in html
    assert "«Экспорт YAML»" in html

"""The shipped library installs idempotently; user runbooks get versions; builtin ones are copied."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from runbooks import definition, library
from runbooks.models import Runbook, RunbookVersion


def test_install_is_idempotent(db):
    created, updated = library.install()
    assert created == len(library.shipped_files()) and updated == 0
    assert library.install() == (0, 0)
    assert RunbookVersion.objects.count() == created
    assert Runbook.objects.filter(builtin=True).count() == created


def test_changed_file_makes_a_new_version(db, tmp_path, monkeypatch):
    source = (library.LIBRARY_DIR / "velero-backup.yaml").read_text(encoding="utf-8")
    (tmp_path / "velero-backup.yaml").write_text(source, encoding="utf-8")
    monkeypatch.setattr(library, "LIBRARY_DIR", tmp_path)
    assert library.install() == (1, 0)
    (tmp_path / "velero-backup.yaml").write_text(
        source.replace("duration: 10-30 мин", "duration: 10-40 мин"), encoding="utf-8"
    )
    assert library.install() == (0, 1)
    runbook = Runbook.objects.get(slug="velero-backup")
    assert list(runbook.versions.values_list("number", flat=True)) == [1, 2]
    assert library.install() == (0, 0)


def test_load_runbooks_command(db, capsys):
    call_command("load_runbooks")
    assert "created" in capsys.readouterr().out
    assert Runbook.objects.count() == len(library.shipped_files())


def test_builtin_is_copied_not_edited(db, author):
    library.install()
    builtin = Runbook.objects.get(slug="node-maintenance")
    with pytest.raises(PermissionDenied):
        library.save_version(builtin.pk, builtin.current.source, actor=author)
    copy = library.copy_runbook(builtin.pk, actor=author)
    assert not copy.builtin and copy.slug == "node-maintenance-copy"
    assert copy.current.definition["steps"] == builtin.current.definition["steps"]
    version = library.save_version(
        copy.pk, copy.current.source.replace("duration: 2 мин", "duration: 3 мин"), actor=author, comment="дольше"
    )
    assert version.number == 2 and version.comment == "дольше"


def test_import_new_then_new_version(db, author):
    text = "slug: my-book\ntitle: Мой регламент\nsteps:\n  - name: Шаг\n"
    version, created = library.import_runbook(text, actor=author, filename="x.yaml")
    assert created and version.number == 1
    version, created = library.import_runbook(text.replace("Шаг", "Шаг 1"), actor=author, filename="x.yaml")
    assert not created and version.number == 2 and version.runbook.slug == "my-book"
    assert definition.parse(library.export_source(version))["steps"][0]["name"] == "Шаг 1"


def test_approver_may_not_write(db, approver):
    with pytest.raises(PermissionDenied):
        library.create_runbook("title: A\nsteps: [{name: A}]\n", actor=approver)

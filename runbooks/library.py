"""The runbook library: the shipped YAML files (runbooks/library/*.yaml) and the operations that write
runbooks (save a new one, a new version, import, copy). Views and the load_runbooks command call these.

Builtin runbooks belong to the shipped library: `install` gives them a new version whenever their file
changes, so they are never edited in place (a local edit would fork from the next release). Users copy
them instead and edit the copy.
"""

from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify
from django.utils.translation import gettext as _

from changeplans.choices import Role
from changeplans.roles import has_role

from . import definition as definitions
from .models import Runbook, RunbookVersion

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
WRITER_ROLES = (Role.AUTHOR, Role.OPERATOR, Role.ADMIN)


def can_write_runbooks(user):
    return user.is_authenticated and any(has_role(user, role) for role in WRITER_ROLES)


def can_use_runbooks(user):
    """Who works with the library: those who write runbooks or make plans from them (authors, operators,
    administrators). Approvers and duty officers sign and run plans, not runbooks: the pages refuse them."""
    return can_write_runbooks(user)


def _require_writer(actor):
    if actor is not None and not can_write_runbooks(actor):
        raise PermissionDenied(_("Only authors, operators and administrators can write runbooks."))


def shipped_files():
    return sorted(LIBRARY_DIR.glob("*.yaml"))


def _add_version(runbook, definition, source, *, actor, comment):
    number = (runbook.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    return RunbookVersion.objects.create(
        runbook=runbook, number=number, definition=definition, source=source, comment=comment[:300], created_by=actor
    )


def _sync_header(runbook, definition):
    fields = {"title": definition["title"][:300], "description": definition["description"]}
    changed = [name for name, value in fields.items() if getattr(runbook, name) != value]
    for name in changed:
        setattr(runbook, name, fields[name])
    if changed:
        runbook.save(update_fields=changed)


@transaction.atomic
def install(actor=None):
    """Install or update the shipped library; a new version only where a definition changed. → (created, updated)."""
    created = updated = 0
    for path in shipped_files():
        source = path.read_text(encoding="utf-8")
        definition = definitions.parse(source)  # a broken shipped file is a bug: let it raise
        slug = definition["slug"] or path.stem
        runbook = Runbook.objects.select_for_update().filter(slug=slug).first()
        if runbook is None:
            runbook = Runbook.objects.create(
                slug=slug,
                title=definition["title"][:300],
                description=definition["description"],
                builtin=True,
                created_by=actor,
            )
            _add_version(runbook, definition, source, actor=actor, comment=f"Поставляемая библиотека: {path.name}")
            created += 1
            continue
        if not runbook.builtin:
            runbook.builtin = True
            runbook.save(update_fields=["builtin"])
        current = runbook.current
        if current is None or current.definition != definition:
            _add_version(
                runbook, definition, source, actor=actor, comment=f"Обновлено из поставляемой библиотеки: {path.name}"
            )
            updated += 1
        _sync_header(runbook, definition)
    return created, updated


def _unique_slug(base):
    base = (slugify(base) or "runbook")[:90]
    slug, n = base, 2
    while Runbook.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def unique_slug(base):
    """A free runbook code made from `base` ("plan-12", "plan-12-2" …)."""
    return _unique_slug(base)


@transaction.atomic
def create_runbook(source, *, actor, comment=""):
    """A new runbook from YAML; its slug is the YAML's `slug` (which must be free) or made from the title."""
    _require_writer(actor)
    definition = definitions.parse(source)
    if definition["slug"]:
        if Runbook.objects.filter(slug=definition["slug"]).exists():
            raise definitions.DefinitionError(
                [
                    definitions.Problem(
                        "slug",
                        _(
                            "a runbook with this code already exists:"
                            " choose another one or import the file to add a version."
                        ),
                    )
                ]
            )
        slug = definition["slug"]
    else:
        slug = _unique_slug(definition["title"])
    runbook = Runbook.objects.create(
        slug=slug, title=definition["title"][:300], description=definition["description"], created_by=actor
    )
    version = _add_version(runbook, definition, source, actor=actor, comment=comment or _("First version"))
    return version


@transaction.atomic
def save_version(runbook_id, source, *, actor, comment=""):
    """A new version of a user runbook (builtin ones are copied, not edited)."""
    _require_writer(actor)
    runbook = Runbook.objects.select_for_update().get(pk=runbook_id)
    if runbook.builtin:
        raise PermissionDenied(_("Runbooks of the shipped library are not edited in place: make a copy and edit it."))
    definition = definitions.parse(source)
    if definition["slug"] and definition["slug"] != runbook.slug:
        raise definitions.DefinitionError(
            [
                definitions.Problem(
                    "slug",
                    _("the code of this runbook is “%(slug)s”; to make another runbook use “New runbook” or import.")
                    % {"slug": runbook.slug},
                )
            ]
        )
    current = runbook.current
    if current is not None and current.definition == definition and current.source == source:
        return current  # nothing changed: no new version
    version = _add_version(runbook, definition, source, actor=actor, comment=comment or _("Edited"))
    _sync_header(runbook, definition)
    return version


@transaction.atomic
def import_runbook(source, *, actor, filename="", comment=""):
    """Import a YAML file: a new runbook, or a new version of the user runbook with the same slug.
    → (version, created)."""
    _require_writer(actor)
    definition = definitions.parse(source)
    slug = definition["slug"] or (slugify(Path(filename).stem) if filename else "")
    existing = Runbook.objects.filter(slug=slug).first() if slug else None
    if existing is None:
        if not slug:
            slug = _unique_slug(definition["title"])
        runbook = Runbook.objects.create(
            slug=slug, title=definition["title"][:300], description=definition["description"], created_by=actor
        )
        return _add_version(
            runbook,
            definition,
            source,
            actor=actor,
            comment=comment or _("Imported from %(file)s") % {"file": filename or "YAML"},
        ), True
    if existing.builtin:
        raise PermissionDenied(
            _(
                "“%(slug)s” is a runbook of the shipped library:"
                " change the slug in the file to import it as your own runbook."
            )
            % {"slug": slug}
        )
    return save_version(
        existing.pk, source, actor=actor, comment=comment or _("Imported from %(file)s") % {"file": filename or "YAML"}
    ), False


@transaction.atomic
def copy_runbook(runbook_id, *, actor):
    """A user copy of a runbook (e.g. a builtin one), with the current version's definition."""
    _require_writer(actor)
    original = Runbook.objects.get(pk=runbook_id)
    current = original.current
    slug = _unique_slug(f"{original.slug}-copy")
    title = _("%(title)s (copy)") % {"title": current.definition["title"][:280]}
    source = definitions.dump({**current.definition, "slug": slug, "title": title})
    runbook = Runbook.objects.create(slug=slug, title=title, description=original.description, created_by=actor)
    _add_version(
        runbook,
        definitions.parse(source),
        source,
        actor=actor,
        comment=_("Copy of “%(slug)s” version %(number)d") % {"slug": original.slug, "number": current.number},
    )
    return runbook


def export_source(version):
    """The YAML of a version: what was saved, or the definition dumped when there is no source."""
    return version.source or definitions.dump(version.definition)

"""The step table's columns a user may hide, and their choice, remembered per user (GridPreference).

Hiding is a matter of display only: the plan page renders a class per hidden column on the table
(`okno-hide-<field>`) and static/okno/okno.css hides that column's header and cells. The PDF and the
execution board always show every column.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .models import GridPreference

# In table order; the labels are the column headers of templates/changeplans/plan_detail.html. The step
# number and the row actions always stay.
COLUMNS: tuple[tuple[str, Promise], ...] = (
    ("kind", pgettext_lazy("step", "Kind")),
    ("name", _("Activity")),
    ("description", _("Short description of the work")),
    ("expected_result", _("Expected result")),
    ("risks", _("Possible risks")),
    ("risk_mitigation", _("Risk mitigation")),
    ("affected_systems", _("Affected systems / services / equipment (impact on business processes)")),
    ("planned_downtime", _("Planned downtime of systems")),
    ("executor", _("Responsible executor")),
    ("planned_date", _("Start date")),
    ("planned_time", _("Start time")),
    ("duration_text", _("Duration")),
    ("rollback", _("What to do if something goes wrong")),
    ("jira_key", _("Jira issue")),
    ("status", _("Status")),
)
FIELDS = frozenset(field for field, _label in COLUMNS)


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    shown: bool


@dataclass(frozen=True)
class Grid:
    """What the plan page needs to draw the table and the column chooser."""

    hidden: frozenset[str]

    @property
    def table_classes(self) -> str:
        return "".join(f" okno-hide-{field}" for field, _label in COLUMNS if field in self.hidden)

    @property
    def columns(self) -> list[Column]:
        return [Column(field, str(label), field not in self.hidden) for field, label in COLUMNS]


def hidden_columns(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The columns this user hid (one query; none for an anonymous user)."""
    if not user.is_authenticated:
        return frozenset()
    with connection.cursor() as cursor:  # raw: the ORM's compilation cost more than this one-row query
        cursor.execute(f"SELECT hidden_columns FROM {GridPreference._meta.db_table} WHERE user_id = %s", [user.pk])
        row = cursor.fetchone()
    stored = _json_list(row[0]) if row else None
    # A column removed from COLUMNS since the choice was saved is simply forgotten.
    return frozenset(name for name in stored or () if isinstance(name, str) and name in FIELDS)


def _json_list(value: object) -> list[object] | None:
    """The stored list as the database driver gives it (JSON text, or already decoded)."""
    if isinstance(value, bytes | str):
        value = json.loads(value)
    return value if isinstance(value, list) else None


def grid_for(user: AbstractBaseUser | AnonymousUser) -> Grid:
    return Grid(hidden_columns(user))


def save_shown_columns(shown: Iterable[str], *, actor: AbstractBaseUser | AnonymousUser) -> list[str]:
    """Remember which columns the actor wants to see (their own choice only); every other column is hidden.
    Returns the hidden ones, in table order.

    Refuses an unknown column name and a choice that leaves no column (ValidationError with the reason).
    """
    if not actor.is_authenticated:
        raise PermissionDenied
    shown = list(shown)
    unknown = sorted({name[:40] for name in shown if name not in FIELDS})
    if unknown:
        names = ", ".join(f"«{name}»" for name in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise ValidationError(
            gettext("Unknown columns: %(names)s. Reload the page and try again.") % {"names": names},
            code="unknown_column",
        )
    if not shown:
        raise ValidationError(gettext("Leave at least one column shown."), code="no_columns")
    hidden = [field for field, _label in COLUMNS if field not in shown]
    GridPreference.objects.update_or_create(user_id=actor.pk, defaults={"hidden_columns": hidden})
    return hidden

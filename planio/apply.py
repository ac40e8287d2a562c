"""Create the plan the preview showed: one transaction, a fixed number of queries whatever the number of steps.

The plan is a draft, every step not done, every sign-off row unsigned: statuses written in the document are
shown in the preview and never imported. The original file is attached to the plan and the history says
where the plan came from (EventKind.IMPORTED).
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow
from changeplans import people
from changeplans.choices import Availability, EventKind, PlanKind, PlanStatus, StepKind
from changeplans.durations import downtime_or_none
from changeplans.history import record_event
from changeplans.limits import MAX_SMALL_NUMBER, date_in_range, is_known_time_zone
from changeplans.models import Party, Plan, PlanAttachment, PlanService, Risk, RollbackAction, Service, Step
from changeplans.permissions import can_create_plan, edit_refusal
from changeplans.services import get_or_create_party

from .errors import ImportRefused
from .matching import person_key
from .parsed import Cell, ParsedPlan, ParsedSignoff, ParsedStep

STEP_TEXT_FIELDS = ("description", "expected_result", "risk_mitigation", "affected_systems")
# Header cells that are plain text fields of the plan.
HEADER_TEXT_FIELDS = (
    "goal",
    "downtime_text",
    "stated_duration_text",
    "responsible_contact",
    "mailing_list",
    "announcement_subject",
    "announcement_intro",
    "banner_text",
)


def _text(cell: Cell | None) -> str:
    """A text cell's content: its value when read, else the text as found."""
    if cell is None:
        return ""
    value = cell.value if isinstance(cell.value, str) else cell.text
    return (value or "").strip()


def _fit(text: str, model: type[Any], name: str) -> str:
    limit = model._meta.get_field(name).max_length
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _People:
    """The choices of the preview (ParsedPlan.people), turned into users and parties once per name."""

    parsed: ParsedPlan
    notes: list[str] = field(default_factory=list)
    _parties: dict[str, Party | None] = field(default_factory=dict)
    _objects: dict[str, Any] = field(default_factory=dict)

    def choice(self, name: str) -> str:
        ref = self.parsed.people.get(person_key(name))
        return ref.choice if ref is not None else "new"

    def _object(self, choice: str) -> Any:
        """The user, party or group a "kind:id" choice names (None when it names nothing any more)."""
        if choice not in self._objects:
            kind, _sep, number = choice.partition(":")
            pk = int(number) if number.isascii() and number.isdigit() and len(number) <= 12 else 0
            found: Any = None
            if kind == "user":
                found = User.objects.filter(pk=pk, is_active=True).first()
            elif kind == "party":
                found = Party.objects.select_related("user").filter(pk=pk).first()
            elif kind == "group":
                found = Group.objects.filter(pk=pk).first()
            self._objects[choice] = found
        return self._objects[choice]

    def user(self, name: str) -> User | None:
        """The user a name stands for (curator, sign-off), or None."""
        found = self._object(self.choice(name)) if ":" in self.choice(name) else None
        if isinstance(found, User):
            return found
        if isinstance(found, Party) and found.user is not None and found.user.is_active:
            return found.user
        return None

    def group(self, name: str) -> Group | None:
        found = self._object(self.choice(name)) if self.choice(name).startswith("group:") else None
        return found if isinstance(found, Group) else None

    def party(self, name: str) -> Party | None:
        """The party of an executor or the responsible: chosen, a user's own, or a new one named as written."""
        name = " ".join(name.split())
        if not name:
            return None
        key = person_key(name)
        if key not in self._parties:
            choice = self.choice(name)
            found = self._object(choice) if ":" in choice else None
            if isinstance(found, Party):
                party: Party | None = found
            elif isinstance(found, User):
                party = people.party_for_user(found)
            elif isinstance(found, Group):
                party = get_or_create_party(name, people.Pick("group", found.pk))
            else:  # "new", "text", or a choice that names nothing any more: the party named as written
                name = _fit(name, Party, "name")
                party = Party.objects.filter(name__iexact=name).first() or Party.objects.create(name=name)
            self._parties[key] = party
        return self._parties[key]


def _refuse_unless_plan_header(parsed: ParsedPlan) -> None:
    problems = []
    if not _text(parsed.header.get("title")):
        problems.append(_("the plan has no title"))
    for key in ("window_start", "window_end"):
        cell = parsed.header.get(key)
        if cell is None or cell.value in (None, "") or cell.problem:
            problems.append(
                cell.problem.rstrip(". ")
                if cell is not None and cell.problem
                else _("the date of the work (“с 20:00 20.03.2025 до 23:05 20.03.2025”) is missing")
            )
            break
    if problems:
        raise ImportRefused(
            _("The plan cannot be created: %(problems)s. Correct it in the preview.")
            % {"problems": "; ".join(problems)}
        )


def _aware(value: str, tz: Any) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ImportRefused(_("Cannot read the date of the work “%(text)s”.") % {"text": value}) from exc
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def _header(plan: Plan, parsed: ParsedPlan, who: _People) -> None:
    """Set the plan's header fields from the document (every field: an empty draft's header is replaced)."""
    header = parsed.header
    value = {key: cell.value for key, cell in header.items()}
    zone = value.get("time_zone")
    plan.time_zone = str(zone) if is_known_time_zone(zone) else str(Plan._meta.get_field("time_zone").get_default())
    plan.title = _fit(_text(header.get("title")), Plan, "title")
    plan.window_start = _aware(str(value["window_start"]), plan.tz)
    plan.window_end = _aware(str(value["window_end"]), plan.tz)
    for name in HEADER_TEXT_FIELDS:
        if name in header or name != "announcement_intro":
            text = _text(header.get(name))
            plan_field = Plan._meta.get_field(name)
            setattr(plan, name, _fit(text, Plan, name) if plan_field.max_length else text)
    kind = value.get("kind")
    plan.kind = str(kind) if kind in PlanKind.values else PlanKind.NORMAL.value
    plan.client_impact = bool(value.get("client_impact"))
    plan.banner_needed = bool(value.get("banner_needed"))
    for name, validator in (("jira_url", URLValidator()), ("announcement_from", EmailValidator())):
        text = _text(header.get(name))
        try:
            validator(text) if text else None
        except ValidationError:
            who.notes.append(
                _("“%(text)s” is not a valid %(field)s: left empty.")
                % {"text": text, "field": Plan._meta.get_field(name).verbose_name}
            )
            text = ""
        setattr(plan, name, text)
    curator = _text(header.get("curator"))
    plan.curator = who.user(curator) if curator else None
    if curator and plan.curator is None:
        who.notes.append(_("The curator “%(name)s” is not a user of Okno: left empty.") % {"name": curator})
    responsible = _text(header.get("responsible"))
    plan.responsible = who.party(responsible) if responsible else None
    if plan.responsible is None:
        plan.responsible_contact = ""


def _clean(plan: Plan) -> None:
    try:
        plan.full_clean(exclude=["status"])
    except ValidationError as exc:
        lines = []
        for name, errors in exc.message_dict.items():
            label = "" if name == NON_FIELD_ERRORS else str(Plan._meta.get_field(name).verbose_name)
            lines += [f"{label}: {message}" if label else message for message in errors]
        raise ImportRefused(
            _("The plan cannot be created: %(problems)s Correct it in the preview.") % {"problems": " ".join(lines)}
        ) from exc


def _services(plan: Plan, parsed: ParsedPlan) -> None:
    availability = parsed.header.get("availability")
    default = availability.value if availability and availability.value in Availability.values else None
    # Okno's own export says each service's availability: {address: value} (the recognizer reads the metadata).
    stated = parsed.header.get("service_availability")
    per_service = {
        person_key(str(name)): value
        for name, value in (stated.value.items() if stated is not None and isinstance(stated.value, dict) else [])
        if value in Availability.values
    }
    # In the document's order (header "services"): the stored result is jsonb, which does not keep a dict's order.
    listed = parsed.header.get("services")
    names = listed.value if listed is not None and isinstance(listed.value, list) else []
    order = {key: n for n, key in enumerate(dict.fromkeys(person_key(str(name)) for name in names))}
    refs = sorted(parsed.services.values(), key=lambda ref: order.get(ref.key, len(order)))
    wanted: dict[int, str] = {}
    for ref in refs:
        kind, _sep, number = ref.choice.partition(":")
        if kind == "service" and number.isascii() and number.isdigit() and len(number) <= 12:
            chosen = per_service.get(ref.key) or per_service.get(person_key(ref.name)) or default
            wanted.setdefault(int(number), chosen or Availability.UNAVAILABLE)
    existing = set(Service.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    PlanService.objects.filter(plan=plan).delete()
    PlanService.objects.bulk_create(
        PlanService(plan=plan, service_id=pk, availability=wanted[pk]) for pk in wanted if pk in existing
    )


def _step(plan: Plan, parsed_step: ParsedStep, position: int, kinds: dict[str, str], who: _People) -> Step:
    cells = parsed_step.cells
    step = Step(plan=plan, position=position)
    name = _text(cells.get("name"))
    limit = Step._meta.get_field("name").max_length
    description = _text(cells.get("description"))
    if len(name) > limit:  # the whole text stays: it opens the description
        description = f"{name}\n{description}".strip()
        name = name[: limit - 1] + "…"
    step.name = name or _("Step %(n)d") % {"n": position}
    step.description = description
    for name in STEP_TEXT_FIELDS[1:]:
        setattr(step, name, _text(cells.get(name)))
    step.planned_downtime = _fit(_text(cells.get("planned_downtime")), Step, "planned_downtime")
    step.planned_downtime_max_minutes = downtime_or_none(step.planned_downtime)  # Step.save() is not called
    step.jira_key = _fit(_text(cells.get("jira_key")), Step, "jira_key")
    kind = kinds.get(str(parsed_step.row), parsed_step.kind)
    step.kind = kind if kind in StepKind.values else StepKind.WORK
    executor = _text(cells.get("executor"))
    step.executor = who.party(executor) if executor else None
    step.planned_date, step.planned_time = _planned(cells)
    duration = _fit(_text(cells.get("duration_text")), Step, "duration_text")
    try:
        step.set_duration(duration)
    except ValidationError:  # kept as written; the plan check flags it
        step.duration_text, step.duration_min, step.duration_max = duration, None, None
    step.no_rollback_needed = parsed_step.no_rollback_needed and not parsed_step.actions
    return step


def _planned(cells: dict[str, Cell]) -> tuple[datetime.date | None, datetime.time | None]:
    date = _iso(cells.get("planned_date"), datetime.date.fromisoformat)
    time = _iso(cells.get("planned_time"), datetime.time.fromisoformat)
    both = cells.get("planned_datetime")
    if both is not None and isinstance(both.value, str) and (date is None or time is None):
        moment = _iso(both, datetime.datetime.fromisoformat)
        if moment is not None:
            date, time = date or moment.date(), time or moment.time()
    if date is not None and not date_in_range(date):
        date = None
    return date, time


def _iso(cell: Cell | None, parse: Any) -> Any:
    if cell is None or not isinstance(cell.value, str) or not cell.value:
        return None
    try:
        return parse(cell.value)
    except ValueError:
        return None


def _risks_and_rollback(parsed_steps: list[ParsedStep], steps: list[Step]) -> tuple[int, int]:
    risks: list[Risk] = []
    numbers: list[dict[int, Risk]] = []
    for parsed_step, step in zip(parsed_steps, steps, strict=True):
        by_number: dict[int, Risk] = {}
        for parsed_risk in parsed_step.risks:
            number = parsed_risk.number
            if number in by_number or not 0 < number <= MAX_SMALL_NUMBER:
                number = max(by_number, default=0) + 1  # the document numbered two risks alike
            risk = Risk(
                step=step, number=number, description=parsed_risk.description, mitigation=parsed_risk.mitigation
            )
            by_number[number] = risk
            risks.append(risk)
        numbers.append(by_number)
    Risk.objects.bulk_create(risks)
    actions: list[tuple[RollbackAction, list[Risk]]] = []
    for parsed_step, step, by_number in zip(parsed_steps, steps, numbers, strict=True):
        for position, parsed_action in enumerate(parsed_step.actions, start=1):
            tied = [by_number[n] for n in dict.fromkeys(parsed_action.risks) if n in by_number]
            actions.append((RollbackAction(step=step, position=position, text=parsed_action.text), tied))
    RollbackAction.objects.bulk_create(action for action, _tied in actions)
    link = RollbackAction.risks.through
    link.objects.bulk_create(
        link(rollbackaction_id=action.pk, risk_id=risk.pk) for action, tied in actions for risk in tied
    )
    return len(risks), len(actions)


def _signoff(plan: Plan, rows: list[ParsedSignoff], who: _People) -> int:
    """The matrix rows, unsigned; a person the matrix builder would refuse is left out (the name stays)."""
    made: list[ApprovalRow] = []
    users: set[int] = set()
    groups: set[int] = set()
    for position, parsed_row in enumerate(rows, start=1):
        kind = parsed_row.kind if parsed_row.kind in RowKind.values else RowKind.APPROVAL
        name = " ".join(parsed_row.person_name.split())
        row = ApprovalRow(
            plan=plan,
            position=position,
            stage=parsed_row.stage if 0 < parsed_row.stage <= MAX_SMALL_NUMBER else 1,
            kind=kind,
            job_title=_fit(parsed_row.job_title.strip(), ApprovalRow, "job_title"),
            person_name=_fit(name or parsed_row.job_title.strip(), ApprovalRow, "person_name"),
            status=ApprovalStatus.NOT_ACKNOWLEDGED if kind == RowKind.ACKNOWLEDGEMENT else ApprovalStatus.PENDING,
        )
        group = who.group(name) if name else None
        user = who.user(name) if name and group is None else None
        refusal = None
        if group is not None:
            if kind == RowKind.APPROVAL:
                refusal = _("an approval is given by a person, not a group")
            elif group.pk in groups:
                refusal = _("the group is already in the matrix")
            else:
                row.group = group
                groups.add(group.pk)
        elif user is not None:
            if kind == RowKind.APPROVAL and user.pk in (plan.author_id, plan.curator_id):
                refusal = _("the author and the curator do not approve their own plan")
            elif user.pk in users:
                refusal = _("the person is already in the matrix")
            else:
                row.user = user
                users.add(user.pk)
        if refusal:
            who.notes.append(
                _("Sign-off row %(n)d (%(name)s): %(reason)s; the row keeps the name, choose the person in the matrix.")
                % {"n": position, "name": row.person_name, "reason": refusal}
            )
        made.append(row)
    ApprovalRow.objects.bulk_create(made)
    return len(made)


def _empty_draft(plan_id: int, actor: User) -> Plan:
    return check_empty_draft(Plan.objects.select_for_update().filter(pk=plan_id).first(), actor)


def check_empty_draft(plan: Plan | None, actor: User) -> Plan:
    """The plan an import may fill: an existing draft with no steps and no sign-off rows that `actor` may edit."""
    if plan is None:
        raise ImportRefused(_("The plan to import into no longer exists."))
    refusal = edit_refusal(actor, plan)
    if refusal:
        raise PermissionDenied(refusal)
    if plan.status != PlanStatus.DRAFT or plan.steps.exists() or ApprovalRow.objects.filter(plan=plan).exists():
        raise ImportRefused(_("A plan can be imported only into an empty draft: this plan already has content."))
    return plan


@transaction.atomic
def create_plan_from_import(
    parsed: ParsedPlan,
    *,
    actor: User,
    filename: str,
    data: bytes,
    content_type: str,
    into_plan_id: int | None = None,
    kinds: dict[str, str] | None = None,
) -> Plan:
    """The draft plan `parsed` describes, with the original file attached; `into_plan_id`: fill that empty draft.

    `kinds`: the preview's step kinds by ParsedStep.row (Overrides.kinds), over the recognizer's.
    Raises ImportRefused (nothing written) without a title or a readable window, PermissionDenied for
    someone who may not create (or edit) the plan.
    """
    if not can_create_plan(actor):
        raise PermissionDenied(_("Only authors can create plans."))
    _refuse_unless_plan_header(parsed)
    plan = _empty_draft(into_plan_id, actor) if into_plan_id is not None else Plan(author=actor)
    who = _People(parsed)
    _header(plan, parsed, who)
    _clean(plan)
    if into_plan_id is not None:
        plan.revision += 1
    plan.save()
    _services(plan, parsed)

    steps = [_step(plan, parsed_step, n, kinds or {}, who) for n, parsed_step in enumerate(parsed.steps, start=1)]
    Step.objects.bulk_create(steps)
    risk_count, _action_count = _risks_and_rollback(parsed.steps, steps)
    row_count = _signoff(plan, parsed.signoff, who)

    filename = " ".join("".join(ch if ch.isprintable() else " " for ch in filename).split())
    PlanAttachment.objects.create(
        plan=plan,
        purpose=PlanAttachment.Purpose.IMPORT,
        filename=_fit(
            filename or ("pasted.html" if "html" in content_type else "pasted.txt"), PlanAttachment, "filename"
        ),
        content_type=_fit(content_type, PlanAttachment, "content_type"),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=actor,
    )
    if into_plan_id is None:
        record_event(plan, actor=actor, kind=EventKind.CREATED, to_status=plan.status)
    comment = _("Imported from the file %(name)s") % {"name": filename} if filename else _("Imported from pasted text")
    record_event(
        plan,
        actor=actor,
        kind=EventKind.IMPORTED,
        comment="\n".join([comment, *who.notes]),
        changes={"steps": len(steps), "risks": risk_count, "signoff_rows": row_count},
    )
    return plan

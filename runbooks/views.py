"""Pages of the runbook library: list, detail, plan from a runbook, YAML editor, import, export."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from changeplans.choices import Availability, PlanKind
from changeplans.models import Plan
from changeplans.permissions import can_create_plan
from changeplans.roles import is_administrator
from common.pagination import paginate

from . import definition as definitions
from . import display, from_plan, instantiate, library, runners, standard
from .forms import RunbookImportForm, RunbookPlanForm, RunbookSourceForm, SaveAsRunbookForm, StandardMarkingForm
from .models import Runbook, RunbookVersion

NEW_RUNBOOK_TEMPLATE = """title: "Работы на узлах {{ nodes }}"
description: Что делает этот регламент
plan:
  goal: Цель работ
  kind: normal
parameters:
  - {name: cluster, type: cluster, label: Кластер}
  - {name: nodes, type: node_list, label: Узлы}
steps:
  - for_each: nodes
    as: node
    steps:
      - name: "Вывести узел {{ node }} из обслуживания"
        description: "kubectl drain {{ node }} --ignore-daemonsets"
        expected_result: Поды перенесены на другие узлы
        executor: Группа Kubernetes-платформы
        duration: 10 мин
        risks:
          - {description: PDB не даёт вытеснить поды, mitigation: Дождаться готовности реплик}
        rollback:
          - {text: "kubectl uncordon {{ node }}", risks: [1]}
        automation:
          kind: kubernetes
          spec: {action: drain, node: "{{ node }}"}
"""


def _describe(automation):
    """A command preview of a step's automation (placeholders shown as written)."""
    try:
        return runners.get(automation["kind"]).describe(automation["spec"])
    except Exception:  # noqa: BLE001 - a preview must never break the page; the raw spec is shown instead
        return str(automation.get("spec"))


def _steps_for_display(definition):
    """Rows for the step table: a block header row, then its steps, numbered as templates ("3", "4.1").

    The step texts show {{ placeholders }} as their parameters' labels (display.readable_step).
    """
    rows, number = [], 0
    params = definition.get("parameters", [])
    for item in definition.get("steps", []):
        if "for_each" in item:
            number += 1
            rows.append({"block": item, "number": number})
            for index, step in enumerate(item["steps"], start=1):
                rows.append(
                    {
                        "step": display.readable_step(step, params),
                        "number": f"{number}.{index}",
                        "preview": _describe(step["automation"]) if step.get("automation") else "",
                    }
                )
        else:
            number += 1
            rows.append(
                {
                    "step": display.readable_step(item, params),
                    "number": number,
                    "preview": _describe(item["automation"]) if item.get("automation") else "",
                }
            )
    return rows


def _require_user_of_runbooks(user):
    if not library.can_use_runbooks(user):
        raise PermissionDenied(_("Runbooks are for authors, operators and administrators."))


@login_required
def runbook_list(request):
    _require_user_of_runbooks(request.user)
    current = RunbookVersion.objects.filter(runbook=OuterRef("pk")).order_by("-number")
    page = paginate(
        request,
        Runbook.objects.filter(archived=False)
        .annotate(current_id=Subquery(current.values("pk")[:1]))
        .select_related("created_by"),
    )
    runbooks = page.items
    versions = RunbookVersion.objects.filter(pk__in=[r.current_id for r in runbooks if r.current_id]).select_related(
        "created_by"
    )
    by_id = {version.pk: version for version in versions}
    for runbook in runbooks:
        runbook.current_version = by_id.get(runbook.current_id)
        if runbook.current_version:
            runbook.steps_once, runbook.steps_per_node = definitions.step_count(runbook.current_version.definition)
        runbook.display_title = display.title(
            runbook.current_version.definition if runbook.current_version else None, runbook.title
        )
    return render(
        request,
        "runbooks/runbook_list.html",
        {
            "runbooks": runbooks,
            "page": page,
            "can_write": library.can_write_runbooks(request.user),
            "can_create_plan": can_create_plan(request.user),
        },
    )


def _version_or_404(runbook, number=None):
    versions = runbook.versions.select_related("created_by")
    if number is None:
        version = versions.order_by("-number").first()
        if version is None:
            raise Http404(_("The runbook has no versions."))
        return version
    return get_object_or_404(versions, number=number)


@login_required
def runbook_detail(request, slug):
    _require_user_of_runbooks(request.user)
    runbook = get_object_or_404(Runbook.objects.select_related("standard_version", "standard_marked_by"), slug=slug)
    number = request.GET.get("version")
    version = _version_or_404(runbook, int(number) if number and number.isdigit() else None)
    return _detail_page(request, runbook, version)


def _detail_page(request, runbook, version, form=None, status=200):
    definition = version.definition
    runbook.display_title = display.title(definition, runbook.title)
    params = definition.get("parameters", [])
    plan = definition.get("plan", {})
    return render(
        request,
        "runbooks/runbook_detail.html",
        {
            "runbook": runbook,
            "version": version,
            "definition": definition,
            "parameters": [{**p, "label": display.param_label(p), "help": display.param_help(p)} for p in params],
            "shown": {
                "goal": display.readable(plan.get("goal"), params),
                "downtime": display.readable(plan.get("downtime"), params),
                "announcement_subject": display.readable(plan.get("announcement_subject"), params),
                # a plan is standard only from the marked version (runbooks.standard), whatever the YAML says
                "kind": display.plan_kind_label(
                    PlanKind.STANDARD
                    if runbook.standard_version_id == version.pk
                    else PlanKind.NORMAL
                    if plan.get("kind") == PlanKind.STANDARD
                    else plan.get("kind")
                ),
            },
            "rows": _steps_for_display(definition),
            "default_slack": definitions.DEFAULT_SLACK,
            "services": [
                {"name": s["service"], "availability": Availability(s["availability"]).label}
                for s in definition.get("plan", {}).get("services", [])
            ],
            "history": runbook.versions.select_related("created_by").order_by("-number"),
            "is_current": version.number
            == runbook.versions.order_by("-number").values_list("number", flat=True).first(),
            "can_write": library.can_write_runbooks(request.user),
            "can_create_plan": can_create_plan(request.user),
            **_standard_context(request, runbook, form),
        },
        status=status,
    )


def _standard_context(request, runbook, form=None):
    """The standard change card of the runbook page: its marking, its history, what an administrator may do."""
    current = runbook.current
    is_admin = is_administrator(request.user)
    return {
        "standard_version": runbook.standard_version,
        "standard_current": current,
        "standard_history": runbook.standard_markings.select_related("version", "actor")[:20] if is_admin else [],
        "standard_is_admin": is_admin,
        "mark_refusal": standard.mark_refusal(request.user, runbook, current),
        "unmark_refusal": standard.unmark_refusal(request.user, runbook),
        "standard_form": form or StandardMarkingForm(),
    }


@login_required
@require_POST
def runbook_standard(request, slug):
    """An administrator marks the runbook's current version as a standard change, or withdraws the marking."""
    runbook = get_object_or_404(Runbook.objects.select_related("standard_version", "standard_marked_by"), slug=slug)
    if not is_administrator(request.user):
        raise PermissionDenied(_("Only an administrator marks a runbook as a standard change."))
    form = StandardMarkingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["action"] == "mark":
                marking = standard.mark_standard(
                    runbook.pk, actor=request.user, number=data["version"] or 0, comment=data["comment"]
                )
                messages.success(
                    request,
                    _("Version %(n)d is marked as a standard change.") % {"n": marking.version.number},
                )
            else:
                standard.unmark_standard(runbook.pk, actor=request.user, comment=data["comment"])
                messages.success(request, _("The standard change marking is withdrawn."))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]:
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return redirect("runbooks:runbook_detail", slug=slug)
    runbook.refresh_from_db()
    version = _version_or_404(runbook)
    return _detail_page(request, runbook, version, form=form, status=422)


@login_required
def runbook_plan_create(request, slug):
    if not can_create_plan(request.user):
        raise PermissionDenied(_("Only authors can create plans."))
    runbook = get_object_or_404(Runbook, slug=slug)
    version = _version_or_404(runbook)
    runbook.display_title = display.title(version.definition, runbook.title)
    form = RunbookPlanForm(version.definition, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = instantiate.create_plan(
                version,
                data["parameters"],
                actor=request.user,
                window_start=data["window_start"],
                window_end=data.get("window_end"),
                time_zone=data["time_zone"],
            )
        except instantiate.ParameterError as exc:  # e.g. a cluster deleted meanwhile
            for param, message in exc.errors.items():
                form.add_error(f"p_{param}", message)
        except ValidationError as exc:  # e.g. a computed window end past the date limit
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("The plan is created from runbook “%(title)s”. Check its steps and times.")
                % {"title": runbook.display_title},
            )
            return redirect("changeplans:plan_detail", pk=plan.pk)
    return render(
        request,
        "runbooks/runbook_plan_create.html",
        {"runbook": runbook, "version": version, "form": form},
        status=422 if form.is_bound and form.errors else 200,
    )


def _require_writer(user):
    if not library.can_write_runbooks(user):
        raise PermissionDenied(_("Only authors, operators and administrators can write runbooks."))


def _editor(request, form, problems, runbook=None, status=200):
    return render(
        request, "runbooks/runbook_form.html", {"form": form, "problems": problems, "runbook": runbook}, status=status
    )


@login_required
def runbook_new(request):
    _require_writer(request.user)
    form = RunbookSourceForm(request.POST or None, initial={"source": NEW_RUNBOOK_TEMPLATE})
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            version = library.create_runbook(
                form.cleaned_data["source"], actor=request.user, comment=form.cleaned_data["comment"]
            )
        except definitions.DefinitionError as exc:
            problems = exc.problems
        else:
            messages.success(request, _("The runbook is saved (version %(number)d).") % {"number": version.number})
            return redirect("runbooks:runbook_detail", slug=version.runbook.slug)
    return _editor(request, form, problems, status=422 if problems else 200)


@login_required
def runbook_edit(request, slug):
    _require_writer(request.user)
    runbook = get_object_or_404(Runbook, slug=slug)
    if runbook.builtin:
        messages.warning(
            request, _("Runbooks of the shipped library are not edited in place: make a copy and edit it.")
        )
        return redirect("runbooks:runbook_detail", slug=slug)
    current = _version_or_404(runbook)
    form = RunbookSourceForm(request.POST or None, initial={"source": library.export_source(current)})
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            version = library.save_version(
                runbook.pk, form.cleaned_data["source"], actor=request.user, comment=form.cleaned_data["comment"]
            )
        except definitions.DefinitionError as exc:
            problems = exc.problems
        else:
            if version.pk == current.pk:
                messages.info(request, _("Nothing changed: no new version."))
            else:
                messages.success(request, _("The runbook is saved (version %(number)d).") % {"number": version.number})
            return redirect("runbooks:runbook_detail", slug=slug)
    return _editor(request, form, problems, runbook=runbook, status=422 if problems else 200)


@login_required
@require_POST
def runbook_copy(request, slug):
    _require_writer(request.user)
    original = get_object_or_404(Runbook, slug=slug)
    runbook = library.copy_runbook(original.pk, actor=request.user)
    messages.success(request, _("A copy is made: “%(slug)s”. Edit it here.") % {"slug": runbook.slug})
    return redirect("runbooks:runbook_edit", slug=runbook.slug)


@login_required
def runbook_import(request):
    _require_writer(request.user)
    form = RunbookImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            version, created = library.import_runbook(
                form.cleaned_data["text"],
                actor=request.user,
                filename=upload.name,
                comment=form.cleaned_data["comment"],
            )
        except definitions.DefinitionError as exc:
            problems = exc.problems
        except PermissionDenied as exc:
            form.add_error("file", str(exc))
        else:
            if created:
                messages.success(
                    request, _("Runbook “%(title)s” is imported.") % {"title": version.runbook.display_title}
                )
            else:
                messages.success(
                    request,
                    _("Version %(number)d of “%(title)s” is imported.")
                    % {"number": version.number, "title": version.runbook.display_title},
                )
            return redirect("runbooks:runbook_detail", slug=version.runbook.slug)
    status = 422 if problems or (form.is_bound and form.errors) else 200
    return render(request, "runbooks/runbook_import.html", {"form": form, "problems": problems}, status=status)


@login_required
def runbook_export(request, slug, number):
    _require_user_of_runbooks(request.user)
    runbook = get_object_or_404(Runbook, slug=slug)
    version = get_object_or_404(RunbookVersion, runbook=runbook, number=number)
    response = HttpResponse(library.export_source(version), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{runbook.slug}-v{version.number}.yaml"'
    return response


@login_required
def runbook_from_plan(request, plan_id):
    """«Save as a runbook»: the plan's steps, risks, rollback ties and automation as a new user runbook."""
    plan = get_object_or_404(Plan, pk=plan_id)
    reason = from_plan.refusal(request.user, plan)
    if reason:
        raise PermissionDenied(reason)
    initial = {
        "title": plan.title,
        "description": _("Made from plan %(id)s “%(title)s”.") % {"id": plan.pk, "title": plan.title},
        "replacements": "\n".join(f"{r.name} = {r.value}" for r in from_plan.suggested_replacements(plan)),
    }
    form = SaveAsRunbookForm(request.POST or None, initial=initial)
    problems, source = [], ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = {
            "title": data["title"],
            "description": data["description"],
            "slug": data["slug"],
            "replacements": data.get("parsed_replacements", []),
            "timing": data["timing"],
        }
        try:
            version, notes = from_plan.save_as_runbook(plan.pk, actor=request.user, **options)
        except definitions.DefinitionError as exc:
            # Nothing is saved: the problems and the YAML, which the editor can open to fix.
            problems = exc.problems
            source = from_plan.source_of(plan, **options)
        else:
            messages.success(
                request,
                _("Runbook “%(title)s” is saved (version %(number)d). Check it; “Edit YAML” changes it.")
                % {"title": version.runbook.display_title, "number": version.number},
            )
            for note in notes:
                messages.warning(request, note)
            return redirect("runbooks:runbook_detail", slug=version.runbook.slug)
    status = 422 if problems or (form.is_bound and form.errors) else 200
    comment = _("From plan %(id)s “%(title)s”") % {"id": plan.pk, "title": plan.title[:200]}
    return render(
        request,
        "runbooks/runbook_from_plan.html",
        {"plan": plan, "form": form, "problems": problems, "source": source, "comment": comment},
        status=status,
    )

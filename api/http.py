"""The API's shared HTTP rules (docs/api.md): pagination, errors, ETag / If-Match, Idempotency-Key.

- Lists page with an opaque cursor (`Cursor`): stable under inserts, constant cost at any depth.
- A domain refusal answers as the page does: PermissionDenied 403, a state conflict 409, bad input 400,
  each with the same translated reason in `detail` and a stable `code` for scripts.
- An object with a `revision` has the ETag `"<model>-<pk>-r<revision>"`. Edits must send it back in
  If-Match (428 without it); the service compares the revision under its row lock, so a stale one is
  a 412 even when two clients race.
- A transition with an `Idempotency-Key` header runs once per user and key: a repeat of the same request
  gets the first answer again (`Idempotent-Replayed: true`); the same key with another request is a 422.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import TransitionNotAllowed
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from approvals.services import MatrixLocked, StaleVersion
from changeplans.services import EditConflict
from changeplans.versioning import ResetNotConfirmed
from execution.transitions import StepStateError

from .models import IdempotencyKey


class Cursor(CursorPagination):
    """Newest first by default; `?page_size=` up to 200."""

    ordering = "-pk"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


# --- errors -------------------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API (the OpenAPI schema of 401/403/404/409/412/422/428)."""

    detail = serializers.CharField(help_text=_("The reason, translated (Russian unless the client asks for English)."))
    code = serializers.CharField(required=False, help_text=_("A stable code for scripts: refused, stale, invalid …"))
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text=_("The reasons per field, for invalid input."),
    )
    revision = serializers.IntegerField(required=False, help_text=_("The current revision, on 412 stale."))
    signatures = serializers.IntegerField(required=False, help_text=_("Signatures an edit would reset, on 409."))


class PreconditionRequired(APIException):
    status_code = 428
    default_detail = _("Send the ETag you read in the If-Match header: edits without it could overwrite others' work.")
    default_code = "if_match_required"


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("Someone has changed this since you read it: read it again and repeat your change.")
    default_code = "stale"


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("This Idempotency-Key was already used for another request: use a new key.")
    default_code = "idempotency_key_reused"


class IdempotencyKeyInProgress(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("A request with this Idempotency-Key is still running: repeat it when it has answered.")
    default_code = "idempotency_key_in_progress"


def _body(detail: Any, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": str(detail), "code": code, **extra}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details as {"field" or "risks.0.text": [messages]}."""
    if isinstance(detail, dict):
        found: dict[str, list[str]] = {}
        for key, value in detail.items():
            found.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return found
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        found = {}
        for index, value in enumerate(detail):
            found.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return found
    messages = [str(item) for item in detail] if isinstance(detail, list) else [str(detail)]
    return {prefix or "non_field_errors": messages} if messages else {}


def _validation_body(exc: DjangoValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        errors = {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        detail = " ".join(message for messages in errors.values() for message in messages)
        return _body(detail, "invalid", errors=errors)
    return _body(" ".join(str(m) for m in exc.messages), "invalid")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the domain's exceptions answered as the pages answer them."""
    if isinstance(exc, EditConflict):
        response = Response(_body(exc, "stale", revision=exc.current.revision), status=412)
        response["ETag"] = etag(exc.current)
        return response
    if isinstance(exc, ResetNotConfirmed):
        detail = f"{exc} " + str(_("Repeat the request with confirm_reset=true to go ahead."))
        return Response(_body(detail, "confirm_reset", signatures=exc.count), status=409)
    if isinstance(exc, StaleVersion):
        return Response(_body(exc, "stale_version"), status=409)
    if isinstance(exc, MatrixLocked):
        return Response(_body(exc, "matrix_locked"), status=409)
    if isinstance(exc, StepStateError):
        return Response(_body(exc, "conflict"), status=409)
    if isinstance(exc, TransitionNotAllowed):
        return Response(_body(_("This is not possible in the object's current state."), "conflict"), status=409)
    if isinstance(exc, PermissionDenied) and str(exc):
        return Response(_body(exc, "refused"), status=403)
    if isinstance(exc, DjangoValidationError):
        return Response(_validation_body(exc), status=422)
    if isinstance(exc, ValidationError):
        errors = _flatten(exc.detail)
        detail = " ".join(
            f"{field}: {m}" if field != "non_field_errors" else m for field, ms in errors.items() for m in ms
        )
        return Response(_body(detail, "invalid", errors=errors), status=400)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, APIException) and isinstance(response.data, dict):
        if "detail" in response.data and "code" not in response.data:
            response.data["code"] = getattr(exc.detail, "code", None) or exc.default_code
    return response


# --- ETag / If-Match ------------------------------------------------------------------------------------

_TAG = re.compile(r'^(?:W/)?"(?P<model>[a-z_]+)-(?P<pk>\d+)-r(?P<revision>\d+)"$')


def etag(obj: models.Model) -> str:
    """The ETag of an object with a `revision`."""
    return f'"{obj._meta.model_name}-{obj.pk}-r{obj.revision}"'  # type: ignore[attr-defined]


def with_etag(response: Response, obj: models.Model) -> Response:
    response["ETag"] = etag(obj)
    return response


def if_match_revision(request: Request, obj: models.Model) -> int:
    """The revision the client read, from If-Match; 428 without it, 412 for a tag of another object."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequired()
    if header == "*":
        return int(obj.revision)  # type: ignore[attr-defined]
    for tag in (part.strip() for part in header.split(",")):
        match = _TAG.match(tag)
        if match and match["model"] == obj._meta.model_name and int(match["pk"]) == obj.pk:
            return int(match["revision"])
    raise PreconditionFailed()


def not_modified(request: Request, obj: models.Model) -> bool:
    """True when If-None-Match names the object's current ETag (answer 304)."""
    header = request.headers.get("If-None-Match", "")
    current = etag(obj)
    return any(part.strip().removeprefix("W/") == current for part in header.split(",")) or header.strip() == "*"


# --- Idempotency-Key ------------------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _fingerprint(request: Request) -> str:
    data = json.dumps(request.data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{data}".encode()).hexdigest()


def _replay(record: IdempotencyKey) -> Response:
    response = Response(record.response, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def run_once(request: Request, action: Callable[[], Response]) -> Response:
    """Run `action` (a transition) once per (user, Idempotency-Key); without the header, just run it.

    Only a 2xx answer is kept: after a refusal or a conflict the same key may be sent again, and the
    transition is judged again. A kept answer is replayed for OKNO_API_IDEMPOTENCY_HOURS.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        return action()
    if len(key) > MAX_KEY_LENGTH:
        raise DjangoValidationError(_("Idempotency-Key is longer than %(n)d characters.") % {"n": MAX_KEY_LENGTH})
    user = request.user
    fingerprint = _fingerprint(request)
    cutoff = timezone.now() - timedelta(hours=settings.OKNO_API_IDEMPOTENCY_HOURS)
    IdempotencyKey.objects.filter(user=user, created_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
    except IntegrityError:
        found = IdempotencyKey.objects.filter(user=user, key=key).first()
        if found is None:  # expired and deleted by a parallel request just now
            raise IdempotencyKeyInProgress() from None
        if found.fingerprint != fingerprint:
            raise IdempotencyKeyReused() from None
        if found.status_code is None:
            raise IdempotencyKeyInProgress() from None
        return _replay(found)
    try:
        response = action()
    except BaseException:
        record.delete()
        raise
    if not 200 <= response.status_code < 300:
        record.delete()
        return response
    record.status_code = response.status_code
    record.response = json.loads(json.dumps(response.data, default=str))
    record.save(update_fields=["status_code", "response"])
    return response

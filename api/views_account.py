"""The signed-in user's page of personal API tokens (/account/tokens/, docs/api.md)."""

from __future__ import annotations

import secrets
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .forms import TokenCreateForm
from .models import ApiToken
from .tokens import expiry_from_days, issue_token, revoke_token

NONCES_KEY = "api_token_form_nonces"
NONCES_KEPT = 10  # forms open at once in one session (tabs)


def _new_nonce(request: HttpRequest) -> str:
    nonce = secrets.token_urlsafe(16)
    request.session[NONCES_KEY] = [*request.session.get(NONCES_KEY, []), nonce][-NONCES_KEPT:]
    return nonce


def _take_nonce(request: HttpRequest, nonce: str) -> bool:
    """True once per nonce the session handed out: the first submission of that form."""
    nonces = request.session.get(NONCES_KEY, [])
    if not nonce or nonce not in nonces:
        return False
    request.session[NONCES_KEY] = [n for n in nonces if n != nonce]
    return True


@never_cache  # the page that shows a new token must not stay in any cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's own tokens and the form to create one; a new token's plaintext is in this one response only."""
    created, plaintext = None, None
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            if not _take_nonce(request, form.cleaned_data["nonce"]):
                # A reload of the answer sends the form again: no second token, and the first is not shown again.
                messages.warning(
                    request, _("This form has already been sent: the token it created is not shown again.")
                )
                return redirect("account_tokens:list")
            created, plaintext = issue_token(
                cast(User, request.user),  # login_required: never anonymous here
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=expiry_from_days(form.cleaned_data["expires_in_days"]),
            )
            form = TokenCreateForm(initial={"nonce": _new_nonce(request)})
    else:
        form = TokenCreateForm(initial={"nonce": _new_nonce(request)})
    tokens = ApiToken.objects.filter(user=cast(User, request.user))
    return render(
        request,
        "api/token_list.html",
        {"form": form, "tokens": tokens, "created": created, "plaintext": plaintext},
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of one's own tokens (administrators revoke others' in the admin)."""
    token = ApiToken.objects.filter(pk=pk, user=cast(User, request.user)).first()
    if token is None:
        raise Http404(_("There is no such token."))
    revoke_token(token.pk, actor=request.user)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("account_tokens:list")

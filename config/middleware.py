from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real


class LanguageMiddleware:
    """Russian first: the language is the user's explicit choice (cookie), else LANGUAGE_CODE.

    Django's LocaleMiddleware would follow the browser's Accept-Language, which turns the UI English
    for most engineers' browsers although the team, the seed and the archive are Russian. The API is
    called by scripts, which set Accept-Language on purpose: there it counts when no cookie is set.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported and request.path.startswith("/api/"):
            language = self._accepted(request.headers.get("Accept-Language", ""))
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response

    def _accepted(self, header):
        """The first supported language of an Accept-Language header ("en-US,en;q=0.9" → "en"), else None."""
        for code, _quality in trans_real.parse_accept_lang_header(header[:255]):
            base = code.split("-")[0].lower()
            if base in self.supported:
                return base
        return None


class DatabaseUnavailableMiddleware:
    """While the database is away, answer 503 in the user's language instead of a 500.

    Only connection failures (OperationalError, InterfaceError) are caught; a bad query still fails
    loudly. The page is rendered without a request context: no session, user or message lookups,
    which would need the database. HTMX requests get a short fragment and a toast.
    """

    RETRY_AFTER_SECONDS = 30
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        from asgiref.sync import iscoroutinefunction, markcoroutinefunction

        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        # Django calls process_exception() for exceptions raised by views, in either mode.
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError
        from django.http import HttpResponse
        from django.template.loader import render_to_string
        from django.utils.translation import gettext

        from common.htmx import toast

        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        if getattr(request, "htmx", False):
            message = gettext(
                "The database is not available right now. Nothing was saved; please try again in a minute."
            )
            response = HttpResponse(f'<div class="alert alert-danger py-2" role="alert">{message}</div>', status=503)
            response["HX-Reswap"] = "none"
            toast(response, message, "danger")
        else:
            response = HttpResponse(render_to_string("503.html", {"retry_after": self.RETRY_AFTER_SECONDS}), status=503)
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response

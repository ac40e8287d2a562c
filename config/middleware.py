from django.conf import settings
from django.utils import translation


class LanguageMiddleware:
    """Russian first: the language is the user's explicit choice (cookie), else LANGUAGE_CODE.

    Django's LocaleMiddleware would follow the browser's Accept-Language, which turns the UI English
    for most engineers' browsers although the team, the seed and the archive are Russian.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response

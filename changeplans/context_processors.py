from django.conf import settings


def okno(request):
    return {"OKNO_ORGANIZATION": settings.OKNO_ORGANIZATION, "OKNO_SIGNATURE": settings.OKNO_SIGNATURE}

from django.conf import settings

# Suggested in the plan form; any IANA zone is accepted.
TIME_ZONE_CHOICES = (
    "Asia/Novosibirsk",
    "Asia/Omsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yekaterinburg",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
    "Europe/Moscow",
    "Europe/Samara",
    "Europe/Kaliningrad",
    "UTC",
)


def okno(request):
    return {
        "OKNO_ORGANIZATION": settings.OKNO_ORGANIZATION,
        "OKNO_SIGNATURE": settings.OKNO_SIGNATURE,
        "TIME_ZONE_CHOICES": TIME_ZONE_CHOICES,
        "okno_mailbox": settings.EMAIL_BACKEND == "notifications.mailbox.MailboxBackend",
    }

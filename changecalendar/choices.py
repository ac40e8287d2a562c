from django.db import models
from django.utils.translation import gettext_lazy as _


class FreezeScope(models.TextChoices):
    GLOBAL = "global", _("Everything")
    SERVICE = "service", _("One service")
    CLUSTER = "cluster", _("One cluster")

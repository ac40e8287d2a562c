"""A webhook delivery names what it belongs to by a subject key ("service:12") instead of a foreign key.

The existing rows keep their link: service_id N becomes the subject "service:N" before the column goes.
"""

from django.db import migrations, models
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat


def service_to_subject(apps, schema_editor):
    WebhookDelivery = apps.get_model("notifications", "WebhookDelivery")
    WebhookDelivery.objects.filter(service__isnull=False).update(subject=Concat(Value("service:"), Cast("service_id", CharField())))


def subject_to_service(apps, schema_editor):
    WebhookDelivery = apps.get_model("notifications", "WebhookDelivery")
    Service = WebhookDelivery._meta.get_field("service").related_model
    existing = set(Service.objects.values_list("pk", flat=True))
    for delivery in WebhookDelivery.objects.filter(subject__startswith="service:").only("pk", "subject"):
        ident = delivery.subject.partition(":")[2]
        if ident.isdigit() and int(ident) in existing:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(service_id=int(ident))


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0006_banner_moves_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="subject",
            field=models.CharField(blank=True, db_index=True, help_text="e.g. service:12", max_length=100, verbose_name="belongs to"),
        ),
        migrations.RunPython(service_to_subject, subject_to_service),
        migrations.RemoveField(model_name="webhookdelivery", name="service"),
    ]

from django.core.management.base import BaseCommand

from notifications import outbox


class Command(BaseCommand):
    help = "Send queued e-mails, retry failed ones whose back-off has passed, rescue those stuck in 'sending'."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100)

    def handle(self, *args, limit, **options):
        result = outbox.deliver_due(limit=limit)
        self.stdout.write(" ".join(f"{name}={value}" for name, value in result.items()))

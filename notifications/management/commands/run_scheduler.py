import time

from django.core.management.base import BaseCommand

from notifications import outbox, scheduler, subscriptions, webhooks


class Command(BaseCommand):
    help = (
        "Durable scheduler without Celery: run due actions, the e-mail outbox and webhook calls"
        " every --interval seconds (or --once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between passes.")

    def handle(self, *args, once, interval, **options):
        while True:
            handled = scheduler.run_due()
            mail = outbox.deliver_due()
            calls = webhooks.deliver_due()
            released = subscriptions.release_due()
            if handled or any(mail.values()) or any(calls.values()) or released or once:
                self.stdout.write(
                    f"scheduled={handled} "
                    + " ".join(f"{name}={value}" for name, value in mail.items())
                    + " webhooks "
                    + " ".join(f"{name}={value}" for name, value in calls.items())
                    + f" events={released}"
                )
            if once:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return

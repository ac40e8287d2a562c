from django.core.management.base import BaseCommand

from runbooks import library


class Command(BaseCommand):
    help = "Install or update the shipped runbook library (runbooks/library/*.yaml); safe to run again."

    def handle(self, *args, **options):
        created, updated = library.install()
        self.stdout.write(
            f"Runbooks: {created} created, {updated} updated, {len(library.shipped_files())} in the library."
        )

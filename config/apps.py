from django.apps import AppConfig


class OknoConfig(AppConfig):
    """The project itself: registers the system checks of Okno's settings (config/checks.py)."""

    name = "config"
    label = "okno"
    verbose_name = "Okno"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the checks)

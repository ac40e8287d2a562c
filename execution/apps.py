from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExecutionConfig(AppConfig):
    """A plan in motion: the live board, automatic announcement steps, overrun alerts, the live stream."""

    name = "execution"
    verbose_name = _("Execution")

    def ready(self):
        from changeplans import history

        from . import automatic_steps, events_out, live, overrun, transitions

        transitions.register()
        automatic_steps.connect()
        overrun.connect()
        history.on_event_recorded.append(live.publish)
        events_out.connect()

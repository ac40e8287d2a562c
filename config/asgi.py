import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
# The ASGI server is the web process: its own database pool and application_name (config/settings/base.py).
os.environ.setdefault("OKNO_PROCESS", "web")
application = get_asgi_application()

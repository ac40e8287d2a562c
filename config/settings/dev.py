"""Local use (`make run`): SQLite file, no Redis, debug pages."""

from .base import *  # noqa: F403
from .base import env, env_bool

DEBUG = env_bool("DEBUG", True)

# E-mails land in the local mailbox (/mailbox/ in the browser) unless EMAIL_BACKEND says otherwise.
EMAIL_BACKEND = env("EMAIL_BACKEND", "notifications.mailbox.MailboxBackend")

# No "AXES: BEGIN …" line from each of `make run`'s processes.
AXES_VERBOSE = env_bool("AXES_VERBOSE", False)

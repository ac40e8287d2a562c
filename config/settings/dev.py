"""Local use (`make run`): SQLite file, no Redis, debug pages."""

from .base import *  # noqa: F401,F403
from .base import env_bool

DEBUG = env_bool("DEBUG", True)

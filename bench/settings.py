"""Settings for the benchmarks: the test settings on a throwaway database, with the floor views' urlconf."""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import ALLOWED_HOSTS, DATABASES

ROOT_URLCONF = "bench.urls"
DEBUG = False
# The test Client's host; the benchmarks do not call setup_test_environment() (no template instrumentation).
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]

# Never the developer's or the tests' database: bench/run.py creates (and drops) this one.
if "postgresql" in DATABASES["default"]["ENGINE"]:
    DATABASES["default"]["NAME"] = os.environ.get("OKNO_BENCH_DB_NAME", "okno_bench")
else:
    DATABASES["default"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["OKNO_BENCH_SQLITE"]}

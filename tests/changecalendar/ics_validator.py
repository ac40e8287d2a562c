"""Every .ics Okno makes is read twice: by the icalendar library and by Mozilla's ical.js (Thunderbird's
parser, tests/ics_validator, installed by `make install-test`). Without node or ical.js the tests skip; in CI
they fail."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import icalendar
import pytest

VALIDATOR = Path(__file__).resolve().parent.parent / "ics_validator"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _node() -> str:
    node = shutil.which("node")
    if not node or not (VALIDATOR / "node_modules" / "ical.js").is_dir():
        what = "node or tests/ics_validator/node_modules is missing: run make install-test"
        if IN_CI:
            pytest.fail(what)
        pytest.skip(what)
    return node


def validate(data: bytes) -> dict:
    """What ical.js read (method, timezones, events with UTC times); fails the test on any error of either parser."""
    icalendar.Calendar.from_ical(data)  # raises on a malformed file
    done = subprocess.run(
        [_node(), str(VALIDATOR / "validate.js")], input=data, capture_output=True, check=False, timeout=60
    )
    result = json.loads(done.stdout or b"{}")
    assert done.returncode == 0 and result.get("ok"), (result.get("errors"), done.stderr.decode(), data.decode())
    return result

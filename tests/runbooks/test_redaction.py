"""Issue 11, finding 1: a secret handed to a run is masked in its log in every encoding a command is likely
to print it in, not only as is."""

import base64
import json
import urllib.parse

import pytest
from django.utils import translation

from changeplans.models import Step
from runbooks import runs
from runbooks.choices import RunStatus
from runbooks.models import RunLine, Secret
from runbooks.redaction import REDACTED, Redactor
from tests.runbooks.automation_fixtures import automate

SECRET = "s3cr3t-Value/XYZ+ü?&"


def _forms(value):
    raw = value.encode()
    forms = {
        "as is": value,
        "base64": base64.b64encode(raw).decode(),
        "base64 unpadded": base64.b64encode(raw).decode().rstrip("="),
        "base64 url-safe": base64.urlsafe_b64encode(raw).decode(),
        "base64 url-safe unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "url-encoded": urllib.parse.quote(value, safe=""),
        "url-encoded plus": urllib.parse.quote_plus(value),
        "json escaped": json.dumps(value)[1:-1],
        "backslash escaped": value.encode("unicode_escape").decode(),
        "reversed": value[::-1],
    }
    return forms


@pytest.mark.parametrize("name", list(_forms(SECRET)))
def test_each_encoding_is_masked(name):
    text = _forms(SECRET)[name]
    redacted = Redactor([SECRET])(f"before {text} after")
    assert text not in redacted and REDACTED in redacted, (name, redacted)
    assert redacted.startswith("before ") and redacted.endswith(" after")


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab", b"abc", b"user:"])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_base64_inside_a_longer_stream_is_masked_at_every_alignment(prefix, urlsafe):
    # `echo "user:$TOKEN" | base64`, an Authorization: Basic header, a secret inside a base64'ed file …
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    secret = SECRET.encode()
    stream = encode(prefix + secret + b"\n-- more data --").decode()
    redacted = Redactor([SECRET])(stream)
    assert redacted.count(REDACTED) == 1, redacted
    # Put zeros where the mask is and decode: no six bytes in a row of the secret are left.
    left, right = redacted.split(REDACTED)
    filled = left + "A" * (len(stream) - len(left) - len(right)) + right
    decoded = base64.b64decode(filled + "=" * (-len(filled) % 4), altchars=b"-_" if urlsafe else None)
    assert not any(secret[i : i + 6] in decoded for i in range(len(secret) - 5)), decoded
    assert decoded.startswith(prefix[:-1] if prefix else b"") and decoded.endswith(b"more data --")


def test_short_values_and_ordinary_text_are_left_alone():
    redactor = Redactor(["abc", "", None])
    assert redactor("abc abcdef") == "abc abcdef"
    assert (
        Redactor([SECRET])("Filesystem Size Used Avail Use% Mounted on") == "Filesystem Size Used Avail Use% Mounted on"
    )


@pytest.mark.django_db
def test_a_run_printing_its_secret_base64_encoded_leaves_it_masked(
    running_plan, operator, django_capture_on_commit_callbacks
):
    Secret.objects.create(name="api-token", value="tok-8d7f6e5a4b3c2d1e")
    step = Step.objects.get(plan=running_plan, position=1)
    code = (
        "import base64, sys; t = sys.argv[1].encode(); "
        "print(base64.b64encode(t).decode()); print(base64.b64encode(b'user:' + t).decode()); "
        "print(t.hex()); print(t[::-1].decode())"
    )
    automate(step, spec={"argv": ["python3", "-c", code, "{{ secret.api-token }}"]})
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        run = runs.request_run(step.pk, actor=operator)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.summary
    leaks = [
        base64.b64encode(b"tok-8d7f6e5a4b3c2d1e").decode(),
        b"tok-8d7f6e5a4b3c2d1e".hex(),
        "tok-8d7f6e5a4b3c2d1e"[::-1],
    ]
    stored = run.log + "\n" + "\n".join(RunLine.objects.filter(run=run).values_list("text", flat=True))
    for leak in leaks:
        assert leak not in stored, (leak, stored)
    # The stream "user:<token>" keeps only what depends on the prefix.
    decoded_lines = [line for line in run.log.splitlines() if REDACTED not in line]
    assert not decoded_lines, run.log

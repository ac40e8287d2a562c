"""Secrets out of run logs: every known secret value is replaced by a mask, in the encodings a command is
likely to print it in (docs/automation.md, "What a run's log may show").

A run that prints `{{ secret.x }}` as is, base64-encoded (standard or URL-safe, padded or not, alone or
inside a longer base64 stream at any of the three byte alignments), hex (lower or upper case),
URL-encoded, JSON- or backslash-escaped, HTML-escaped or reversed finds it masked. What no list of
encodings catches (encryption, a hash, a secret split over lines by `base64 -w`, one character a line)
is kept out by the four-eyes rule instead: a second person approved the command before it ran.
"""

import base64
import html
import json
import urllib.parse

REDACTED = "••••••"
# A secret shorter than this is not masked (it would mask ordinary words); an encoded form shorter than
# DERIVED_MIN is not masked either (a few base64 characters occur in ordinary text by chance).
VALUE_MIN = 4
DERIVED_MIN = 6
_B64_ALPHABETS = (base64.b64encode, base64.urlsafe_b64encode)
# The first characters of the base64 of (k unknown bytes + value) depend on the unknown bytes: skip them.
_B64_SKIP = {0: 0, 1: 2, 2: 3}


def _base64_forms(raw):
    forms = set()
    for encode in _B64_ALPHABETS:
        padded = encode(raw).decode()
        forms.update((padded, padded.rstrip("=")))
        # Inside a longer stream the value starts at byte offset 0, 1 or 2 of a 3-byte group: keep the
        # characters that depend on the value's bytes only.
        for offset, skip in _B64_SKIP.items():
            encoded = encode(b"\0" * offset + raw).decode().rstrip("=")
            whole = (len(raw) + offset) * 8 // 6  # characters whose six bits all come from known bytes
            forms.add(encoded[skip:whole])
    return forms


def _escaped_forms(value):
    forms = {
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        value.encode("unicode_escape").decode("ascii"),
        html.escape(value),
        html.escape(value, quote=False),
    }
    for quote in (urllib.parse.quote, urllib.parse.quote_plus):
        for safe in ("", "/"):
            text = quote(value, safe=safe)
            forms.update((text, _lower_percent(text)))
    return forms


def _lower_percent(text):
    """Percent-encoding with lower-case hex digits ("%2f"), as some encoders write it."""
    parts = text.split("%")
    return parts[0] + "".join("%" + part[:2].lower() + part[2:] for part in parts[1:])


def encoded_forms(value):
    """The value and the forms of it a run's output may show, each long enough to be worth masking."""
    raw = value.encode("utf-8")
    forms = {value, value[::-1], raw.hex(), raw.hex().upper()}
    forms |= _base64_forms(raw)
    forms |= _escaped_forms(value)
    return {form for form in forms if form == value or len(form) >= DERIVED_MIN}


class Redactor:
    """Replaces every known secret value (and its encoded forms) in a text. Values shorter than 4
    characters are not secrets."""

    def __init__(self, values=()):
        self.values = set()
        self._ordered = None
        self.add(*values)

    def add(self, *values):
        for value in values:
            value = str(value or "")
            if len(value) < VALUE_MIN:
                continue
            self.values |= encoded_forms(value)
            for line in value.splitlines():  # a multi-line secret printed line by line
                if len(line.strip()) >= 8:
                    self.values |= encoded_forms(line.strip())
        self._ordered = None

    def __call__(self, text):
        text = str(text)
        if self._ordered is None:
            # Longest first: a value inside a longer encoded form does not break the longer one's match.
            self._ordered = sorted(self.values, key=lambda v: (-len(v), v))
        for value in self._ordered:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

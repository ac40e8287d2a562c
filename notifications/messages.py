"""Announcement messages (it.info e-mail, completion, delay, banner text) rendered from editable templates.

Domain-free: the caller hands over the context (the domain app builds it from a plan).
A template is the MessageTemplate row for (kind, language) when there is one (administrators edit
those in the admin), else the shipped default in `message_defaults/<language>/`. Templates use the
Django template language on an engine of their own: no file loaders (an edited template cannot
include project files), autoescape on for the HTML, off for the subject and the plain text.
"""

import re
from pathlib import Path

from django.conf import settings
from django.template import Context, Engine, TemplateSyntaxError
from django.template.defaultfilters import linebreaksbr
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .choices import MessageKind

DEFAULTS_DIR = Path(__file__).resolve().parent / "message_defaults"
PARTS = ("subject", "text", "html")
LIBRARIES = {"i18n": "django.templatetags.i18n", "l10n": "django.templatetags.l10n", "tz": "django.templatetags.tz"}

# The domain registers callables `provider(kind, language) -> (label, context) | None`; the admin
# previews and checks templates with the first context one of them gives.
sample_context_providers = []

_engine = Engine(dirs=[], app_dirs=False, libraries=LIBRARIES, autoescape=True)
# Compiles with line numbers for error messages; marks variables the context does not have.
_UNKNOWN = "\x00%s\x00"
_check_engine = Engine(
    dirs=[], app_dirs=False, libraries=LIBRARIES, autoescape=True, debug=True, string_if_invalid=_UNKNOWN
)
_UNKNOWN_RE = re.compile("\x00([^\x00]*)\x00")

PLAIN_HTML_STYLE = "font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.45;color:#1f2328"


def default_template(kind, language="ru"):
    """The shipped (subject, text, html) of `kind` in `language` (the default language's when it has none)."""
    folder = DEFAULTS_DIR / language
    if not (folder / f"{kind}.txt").exists():
        folder = DEFAULTS_DIR / settings.LANGUAGE_CODE
    parts = []
    for suffix in ("_subject.txt", ".txt", ".html"):
        path = folder / f"{kind}{suffix}"
        parts.append(path.read_text(encoding="utf-8") if path.exists() else "")
    parts[0] = parts[0].strip()
    return tuple(parts)


def template_sources(kind, language="ru"):
    """(subject, text, html) to render: the administrator's row if there is one, else the default."""
    from .models import MessageTemplate

    row = MessageTemplate.objects.filter(kind=kind, language=language).only("subject", "text", "html").first()
    if row is not None:
        return row.subject, row.text, row.html
    return default_template(kind, language)


def text_as_html(text):
    """Plain text as HTML: escaped, line breaks kept."""
    return f'<div style="{PLAIN_HTML_STYLE}">{linebreaksbr(text, autoescape=True)}</div>'


def render_sources(subject, text, html, context, *, language="ru", time_zone=None, engine=None):
    """Render three template sources. Raises TemplateSyntaxError on a broken template."""
    engine = engine or _engine
    with translation.override(language), timezone.override(time_zone or timezone.get_current_timezone()):
        plain = Context(context, autoescape=False)
        rendered_subject = " ".join(engine.from_string(subject).render(plain).split())
        rendered_text = engine.from_string(text).render(plain).strip()
        if html.strip():
            rendered_html = engine.from_string(html).render(Context(context, autoescape=True)).strip()
        else:
            rendered_html = text_as_html(rendered_text)
    return rendered_subject, rendered_text, rendered_html


def render(kind, context, *, language="ru", time_zone=None):
    """(subject, text, html) of message `kind` for `context`, inside translation.override(language)."""
    MessageKind(kind)  # an unknown kind is a programming error
    subject, text, html = template_sources(kind, language)
    return render_sources(subject, text, html, context, language=language, time_zone=time_zone)


def sample_context(kind, language="ru"):
    """(label, context) from the first provider that has one, or None (e.g. no plan exists yet)."""
    for provider in sample_context_providers:
        sample = provider(kind, language)
        if sample is not None:
            return sample
    return None


# Django's template errors are in English; the common ones are explained in the admin's language.
_SYNTAX_HINTS = [
    (
        re.compile(r"Invalid block tag on line \d+: '([^']*)'"),
        lambda m: (
            _(
                "unknown or misplaced tag “%(tag)s”"
                " (check that every {%% if %%} has its {%% endif %%} and every {%% for %%} its {%% endfor %%})"
            )
            % {"tag": m[1]}
        ),
    ),
    (
        re.compile(r"Unclosed tag on line \d+: '([^']*)'"),
        lambda m: _("the tag “%(tag)s” is not closed") % {"tag": m[1]},
    ),
    (re.compile(r"Invalid filter: '([^']*)'"), lambda m: _("unknown filter “%(filter)s”") % {"filter": m[1]}),
    (
        re.compile(r"Could not parse the remainder: '([^']*)' from '([^']*)'"),
        lambda m: _("cannot read “%(expression)s”") % {"expression": m[2]},
    ),
    (
        re.compile(r"Could not parse some characters: (.*)"),
        lambda m: _("cannot read “%(expression)s”") % {"expression": m[1]},
    ),
    (re.compile(r"Empty variable tag on line \d+"), lambda m: _("an empty variable {{ }}")),
    (re.compile(r"Empty block tag on line \d+"), lambda m: _("an empty tag {%% %%}") % {}),
    (
        re.compile(r"'([^']*)' is not a registered tag library"),
        lambda m: _("unknown tag library “%(library)s” (available: i18n, l10n, tz)") % {"library": m[1]},
    ),
]


def explain_syntax_error(exc):
    message = str(exc)
    for pattern, explain in _SYNTAX_HINTS:
        match = pattern.search(message)
        if match:
            return explain(match)
    return message


def validate(subject, text, html, *, context=None, language="ru"):
    """Errors of the three template sources as {part: message} (empty: all good), in the active language.

    Each source must compile. With a (sample) context, they are also rendered: an error while rendering
    or a variable the context does not have (a typo such as {{ strat }}) is an error too.
    """
    errors = {}
    compiled = {}
    for part, source in zip(PARTS, (subject, text, html), strict=True):
        try:
            compiled[part] = _check_engine.from_string(source or "")
        except TemplateSyntaxError as exc:
            line = (getattr(exc, "template_debug", None) or {}).get("line")
            reason = explain_syntax_error(exc)
            if line:
                errors[part] = _("Template error in line %(line)d: %(reason)s.") % {"line": line, "reason": reason}
            else:
                errors[part] = _("Template error: %(reason)s.") % {"reason": reason}
    if context is None:
        return errors
    outputs = {}
    with translation.override(language):
        for part, template in compiled.items():
            try:
                outputs[part] = template.render(Context(context, autoescape=part == "html"))
            except Exception as exc:  # noqa: BLE001 - an edited template may fail in any way while rendering
                outputs[part] = exc
    # Messages are built outside the override: they are for the admin, in the admin's language.
    for part, output in outputs.items():
        if isinstance(output, Exception):
            errors[part] = _("The template fails when rendered: %(error)s") % {
                "error": f"{type(output).__name__}: {output}"
            }
            continue
        unknown = sorted(set(_UNKNOWN_RE.findall(output)))
        if unknown:
            errors[part] = _("Unknown variables: %(unknown)s. Available: %(available)s.") % {
                "unknown": ", ".join(unknown),
                "available": ", ".join(sorted(name for name in context if not name.startswith("_"))),
            }
    return errors

"""The upload form of an import and the upload handler that keeps an oversized file out of memory and off disk."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

ACCEPT = ".docx,.xlsx,.html,.htm"


class OversizeUpload(UploadedFile):
    """Stands for a file that went over the limit: its size is known, its bytes were dropped on the way in."""

    def __init__(self, name: str, content_type: str, size: int) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.oversize = True

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        return b""

    def chunks(self, chunk_size: int | None = None) -> Any:
        return iter(())

    def close(self) -> None:
        pass


class SizeLimitUploadHandler(FileUploadHandler):
    """First of the request's upload handlers: passes a file's chunks on while it stays within `limit` bytes,
    then swallows the rest and only counts it, so a 200 MB upload costs neither memory nor disk. The view sees
    an `OversizeUpload` with the real size and refuses it with the figures."""

    def __init__(self, limit: int, request: Any = None) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.over = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0
        self.over = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.over = True
            return None  # later handlers (memory, temporary file) get nothing more
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.over:
            return OversizeUpload(self.file_name or "", self.content_type or "", self.received)
        return None  # the next handler completes the file as usual


def size_refusal(size: int, limit: int) -> str:
    return _("The file is %(size)s; at most %(limit)s can be imported.") % {
        "size": filesizeformat(size),
        "limit": filesizeformat(limit),
    }


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Plan file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT, "class": "form-control"}),
        help_text=gettext_lazy("Word (.docx), Excel (.xlsx) or a web page (.html, .htm: Confluence, “Save as HTML”)."),
    )
    text = forms.CharField(
        label=gettext_lazy("…or paste the text of the plan from Word, Excel or Confluence"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "form-control font-monospace small", "spellcheck": "false"}),
    )
    # The clipboard's text/html of the paste (static/okno/import.js); a table in it is read in place of the text.
    paste_html = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    into = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, html_file: UploadedFile | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.html_file = html_file  # the same clipboard HTML sent as a file (not held to the form-field limit)

    def clean_file(self) -> UploadedFile | None:
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        limit = settings.OKNO_IMPORT_MAX_BYTES
        if upload.size is not None and upload.size > limit:  # checked before a byte of it is read
            raise forms.ValidationError(size_refusal(upload.size, limit), code="too_large")
        if not upload.size:
            raise forms.ValidationError(_("The file is empty."), code="empty")
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        has_file = bool(data.get("file")) or "file" in self.errors
        has_text = bool((data.get("text") or "").strip())
        if self.html_file is not None and self.html_file.size and self.html_file.size > settings.OKNO_IMPORT_MAX_BYTES:
            self.add_error("text", size_refusal(self.html_file.size, settings.OKNO_IMPORT_MAX_BYTES))
        if has_file and has_text and "file" not in self.errors:
            raise forms.ValidationError(_("Choose a file or paste the text, not both: clear one of them."), code="both")
        if not has_file and not has_text and not self.errors:
            raise forms.ValidationError(_("Choose a plan file or paste the text of a plan."), code="nothing")
        return data

    def pasted_html(self) -> str:
        """The clipboard HTML of the paste: the file import.js made of it, or the hidden field."""
        if self.html_file is not None and not getattr(self.html_file, "oversize", False):
            return self.html_file.read().decode("utf-8", errors="replace")
        return str(self.cleaned_data.get("paste_html") or "")

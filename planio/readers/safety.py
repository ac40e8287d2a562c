"""Checks that run before any parser sees an upload: size, old and encrypted Office files, zip bombs, XML entities.

Every check raises ImportRefused with a translated message; nothing here writes anything.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from planio.errors import ImportRefused

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# The name of the stream an encrypted OOXML file keeps inside its OLE2 container (names are UTF-16LE there).
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")

# Zip containers: what a real Word or Excel file never comes near.
MAX_MEMBERS = 2000
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, checked for members over RATIO_FROM_BYTES
RATIO_FROM_BYTES = 1024 * 1024
READ_CHUNK = 1024 * 1024

XML_SUFFIXES = (".xml", ".rels", ".vml")
_ENTITY_TRICK = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
_HTML_ENTITY_TRICK = re.compile(r"<!\s*entity", re.IGNORECASE)


def _megabytes(size: int, *, up: bool = False) -> str:
    """Megabytes as people read them: "20", "1,5" (a size shown against a limit is rounded up)."""
    tenths = size * 10 / (1024 * 1024)
    tenths = math.ceil(tenths) if up else round(tenths)
    if tenths >= 100:
        return str(math.ceil(tenths / 10) if up else round(tenths / 10))
    if tenths % 10 == 0:
        return str(tenths // 10)
    return number_format(tenths / 10, decimal_pos=1)


def check_size(size: int) -> None:
    limit = settings.OKNO_IMPORT_MAX_BYTES
    if size > limit:
        raise ImportRefused(
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": _megabytes(size, up=True), "limit": _megabytes(limit)}
        )


def check_not_empty(data: bytes) -> None:
    if not data.strip():
        raise ImportRefused(_("The file is empty."))


def refuse_ole2(data: bytes) -> None:
    """An OLE2 (compound) file: an encrypted .docx/.xlsx or an old .doc/.xls. Both are refused."""
    if not data.startswith(OLE2_MAGIC):
        return
    if ENCRYPTED_STREAM in data:
        raise ImportRefused(refused_encrypted())
    raise ImportRefused(
        _(
            "This is an old Word or Excel format (.doc/.xls): open it in Word or Excel, save it as .docx or .xlsx "
            "and upload it again."
        )
    )


def refused_encrypted() -> str:
    return _("The file is protected with a password: remove the password in Word or Excel and upload it again.")


def refused_unsafe_entities() -> str:
    return _("The file declares its own entities (DOCTYPE/ENTITY): such a file is refused as unsafe.")


def refused_too_many_cells() -> str:
    return _("The document has more than %(limit)s table cells: it is too large to import.") % {
        "limit": settings.OKNO_IMPORT_MAX_CELLS
    }


def check_cells(count: int) -> None:
    if count > settings.OKNO_IMPORT_MAX_CELLS:
        raise ImportRefused(refused_too_many_cells())


def _looks_like_utf16(head: bytes) -> bool:
    return head.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<"))


def has_entity_trick(xml: bytes) -> bool:
    """True when an XML part declares a DTD or entities (billion laughs, external entities)."""
    if _looks_like_utf16(xml[:4]):
        encoding = "utf-16-be" if xml.startswith((b"\xfe\xff", b"\x00<")) else "utf-16-le"
        xml = xml.decode(encoding, errors="ignore").encode("utf-8")
    return _ENTITY_TRICK.search(xml) is not None


def check_html_entities(text: str) -> None:
    if _HTML_ENTITY_TRICK.search(text):
        raise ImportRefused(refused_unsafe_entities())


@dataclass
class ZipParts:
    names: list[str]
    xml: dict[str, bytes] = field(default_factory=dict)  # every XML part, read and checked


def open_zip(data: bytes) -> ZipParts:
    """Read a .docx/.xlsx container defensively; refuse bombs, encrypted members and XML entity tricks."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise ImportRefused(refused_damaged()) from error
    if len(members) > MAX_MEMBERS:
        raise ImportRefused(
            _("The file holds too many parts (%(count)s): such a file is refused as unsafe.") % {"count": len(members)}
        )
    if any(info.flag_bits & 0x1 for info in members):
        raise ImportRefused(refused_encrypted())
    if sum(info.file_size for info in members) > MAX_UNPACKED_BYTES:
        raise ImportRefused(refused_bomb_size())
    for info in members:
        if info.file_size > RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ImportRefused(refused_bomb_ratio())
    parts = ZipParts(names=[info.filename for info in members])
    unpacked = 0
    for info in members:
        if info.is_dir():
            continue
        is_xml = info.filename.lower().endswith(XML_SUFFIXES)
        chunks: list[bytes] = []
        try:
            with archive.open(info) as stream:
                while chunk := stream.read(READ_CHUNK):
                    unpacked += len(chunk)
                    if unpacked > MAX_UNPACKED_BYTES:
                        raise ImportRefused(refused_bomb_size())
                    if is_xml:
                        chunks.append(chunk)
        except ImportRefused:
            raise
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError, EOFError) as error:
            raise ImportRefused(refused_damaged()) from error
        if is_xml:
            content = b"".join(chunks)
            if has_entity_trick(content):
                raise ImportRefused(refused_unsafe_entities())
            parts.xml[info.filename] = content
    return parts


def refused_damaged() -> str:
    return _("The file cannot be read: it is damaged or it is not a Word (.docx) or Excel (.xlsx) file.")


def refused_bomb_size() -> str:
    return _("The file unpacks to more than %(limit)s MB: such a file is refused as unsafe.") % {
        "limit": _megabytes(MAX_UNPACKED_BYTES)
    }


def refused_bomb_ratio() -> str:
    return _("The file is compressed suspiciously strongly (a zip bomb?): such a file is refused as unsafe.")

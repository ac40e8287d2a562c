"""Text as users type it: browsers send textareas with CRLF; Okno stores and compares LF."""


def normalize_newlines(text: str | None) -> str:
    """`text` with every line break (CRLF, a lone CR) as LF; None is ""."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def clean_text(text: str | None) -> str:
    """A comment or reason as stored: LF line breaks, no blank around it."""
    return normalize_newlines(text).strip()


def cut_at_word(text: object, limit: int) -> str:
    """The text cut at a word boundary within `limit` characters, with «…» when something was cut."""
    text = str(text)
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,.;:—-") + "…"

"""Why a file or a pasted text is refused: one exception, its message in the user's language."""

from django.core.exceptions import ValidationError


class ImportRefused(ValidationError):
    """The upload cannot be imported (empty, too large, not a plan, password-protected, unsafe…).

    Raised with a translated message; nothing has been written when it is raised.
    """

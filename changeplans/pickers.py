"""Form fields whose input is a search-as-you-type picker (static/okno/picker.js, changeplans.people).

The visible text input carries the field's name (what was typed is posted and shown again on an error);
the hidden input `<name>_pick` carries the choice ("user:5", "party:7", "group:2").
"""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from . import people
from .models import Party
from .people import Typed
from .roles import display_name

PICK_SUFFIX = "_pick"


class PickerInput(forms.Widget):
    """A text input with a picker and its hidden choice; `value` is a Typed."""

    def __init__(self, kind: str = "user", attrs: dict[str, Any] | None = None, submit: bool = False) -> None:
        super().__init__(attrs)
        self.kind, self.submit = kind, submit

    def format_value(self, value: Any) -> Any:
        return value

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        typed = value if isinstance(value, Typed) else Typed(str(value or ""))
        final = self.build_attrs(self.attrs, attrs)
        input_id = final.pop("id", None) or f"id_{name}"
        final.pop("required", None)  # the server says what is missing, keeping the text
        extra = {
            "data-okno-picker": reverse("changeplans:people_search"),
            "data-okno-picker-kind": self.kind,
            "data-okno-picker-into": f"#{input_id}{PICK_SUFFIX}",
            "role": "combobox",
            "aria-autocomplete": "list",
            "aria-expanded": "false",
            "aria-controls": f"{input_id}-list",
            "autocomplete": "off",
            "spellcheck": "false",
            **final,
        }
        if self.submit:
            extra["data-okno-picker-submit"] = ""
        attributes = flatatt(extra)
        return format_html(
            '<input type="text" name="{}" id="{}" value="{}"{}><input type="hidden" name="{}" id="{}" value="{}">',
            name,
            input_id,
            typed.text,
            attributes,
            name + PICK_SUFFIX,
            input_id + PICK_SUFFIX,
            str(typed.pick or ""),
        )

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Typed | None:
        if name not in data and name + PICK_SUFFIX not in data:
            return None
        text = str(data.get(name) or "").strip()
        return Typed(text, people.Pick.parse(data.get(name + PICK_SUFFIX)))

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and name + PICK_SUFFIX not in data


class UserPickField(forms.Field):
    """A user picked by surname; a typed "Иванов П.С." naming exactly one user counts as picked."""

    widget = PickerInput
    default_error_messages = {
        "gone": _("The chosen person is no longer a user of Okno: choose another one."),
        "nobody": _("No user “%(text)s”: type a surname and choose a person from the list."),
        "several": _("Several users match “%(text)s”: choose one from the list."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", PickerInput("user", attrs={"placeholder": _("Type a surname…")}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Typed) or value in (None, ""):
            return value
        user = value if hasattr(value, "pk") else get_user_model().objects.filter(pk=value).first()
        return Typed(display_name(user), people.Pick("user", user.pk)) if user else None

    def to_python(self, value: Any) -> Any:
        typed = value if isinstance(value, Typed) else Typed(str(value or "").strip())
        if typed.pick and typed.pick.kind == "user":
            user = get_user_model().objects.filter(pk=typed.pick.id, is_active=True).first()
            if user is None:
                raise ValidationError(self.error_messages["gone"], code="gone")
            return user
        if not typed.text:
            return None
        found: list[Any] = people.users_matching(typed.text)
        if not found:  # a surname or a login alone: the one user the search finds
            ids = [r["id"] for r in people.search_users(people.words(typed.text), limit=2)]
            found = list(get_user_model().objects.filter(pk__in=ids)) if len(ids) == 1 else ids
        if len(found) == 1:
            return found[0]
        code = "several" if found else "nobody"
        raise ValidationError(self.error_messages[code], code=code, params={"text": typed.text[:100]})

    def has_changed(self, initial: Any, data: Any) -> bool:
        initial_pk = getattr(initial, "pk", initial)
        try:
            value = self.to_python(data)
        except ValidationError:
            return True
        return (initial_pk or None) != (value.pk if value else None)


class PartyPickField(forms.Field):
    """Who carries out a step (or answers for the plan): a user, an existing party, or text as typed.

    Cleans to a Typed; changeplans.services.get_or_create_party turns it into a party when saving.
    """

    widget = PickerInput
    default_error_messages = {
        "gone": _("The chosen entry no longer exists: choose another one or keep the typed text."),
    }

    def __init__(self, *, kind: str = "user,party", max_length: int = 200, submit: bool = False, **kwargs: Any):
        kwargs.setdefault("widget", PickerInput(kind, submit=submit))
        super().__init__(**kwargs)
        self.max_length = max_length

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, Typed) or value is None else Typed(str(value))

    def to_python(self, value: Any) -> Typed:
        typed = value if isinstance(value, Typed) else Typed(str(value or "").strip())
        MaxLengthValidator(self.max_length)(typed.text)
        pick = typed.pick
        if pick:
            model = {"user": get_user_model(), "party": Party, "group": Group}[pick.kind]
            exists = model.objects.filter(pk=pick.id)
            if pick.kind == "user":
                exists = exists.filter(is_active=True)
            if not exists.exists():
                raise ValidationError(self.error_messages["gone"], code="gone")
        return typed

    def validate(self, value: Typed) -> None:
        if self.required and not value.text and not value.pick:
            raise ValidationError(self.error_messages["required"], code="required")

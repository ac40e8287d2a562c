"""How the API answers errors and which language it speaks (api/http.py, api/schema.py, config/errors.py)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient, APIRequestFactory

from api.choices import TokenScope
from api.tokens import issue_token

from .schema_ops import api_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(author):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Bearer " + issue_token(author, name="t", scope=TokenScope.WRITE, expires_at=None)[1]
    )
    return client


def test_an_unknown_api_path_is_a_json_404(api):
    response = api.get("/api/v1/plans/-5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Не найдено.", "code": "not_found"}


def test_an_unknown_page_is_still_html(client):
    response = client.get("/plans/-5/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_api_follows_accept_language(api):
    response = api.get("/api/v1/nowhere/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9,ru;q=0.8")
    assert response.json()["detail"] == "Not found."
    assert response["Content-Language"] == "en"


def test_russian_without_accept_language_and_for_an_unsupported_one(api):
    assert api.get("/api/v1/nowhere/").json()["detail"] == "Не найдено."
    assert api.get("/api/v1/nowhere/", HTTP_ACCEPT_LANGUAGE="de-DE,fr").json()["detail"] == "Не найдено."


def test_the_language_cookie_wins_over_accept_language(api):
    api.cookies["django_language"] = "ru"
    assert api.get("/api/v1/nowhere/", HTTP_ACCEPT_LANGUAGE="en").json()["detail"] == "Не найдено."


def test_pages_ignore_accept_language(client, author):
    client.force_login(author)
    response = client.get("/plans/", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "ru"


class _Input(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    risks = serializers.ListField(child=serializers.DictField(child=serializers.IntegerField()))


@api_view(["POST"])
@permission_classes([AllowAny])
def _echo(request):
    kind = request.data.get("raise")
    if kind == "refused":
        raise PermissionDenied("Только автор плана может его изменить.")
    if kind == "service":
        raise DjangoValidationError({"window_end": ["Окончание раньше начала."]})
    _Input(data=request.data).is_valid(raise_exception=True)
    return None


def _call(data):
    request = APIRequestFactory().post("/api/v1/echo/", data, format="json")
    response = _echo(request)
    response.render()
    return response


def test_input_errors_have_one_shape_with_nested_fields_flattened():
    response = _call({"name": "слишком длинно", "risks": [{"n": 1}, {"n": "x"}]})
    assert response.status_code == 400
    body = response.data
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"name", "risks.1.n"}
    assert "name:" in body["detail"]


def test_a_refusal_is_403_with_the_services_reason():
    response = _call({"raise": "refused"})
    assert response.status_code == 403
    assert response.data == {"detail": "Только автор плана может его изменить.", "code": "refused"}


def test_a_services_validation_error_is_422_like_the_pages():
    response = _call({"raise": "service"})
    assert response.status_code == 422
    assert response.data["errors"] == {"window_end": ["Окончание раньше начала."]}


def test_every_operation_documents_401_and_403_and_404_where_it_has_an_id():
    schema = api_schema()
    assert "Error" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)

"""The API's root: who is asking and what there is (docs/api.md)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from . import examples
from .http import ErrorSerializer


class RootSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="The API's version: v1.")
    user = serializers.CharField(help_text="The caller's user name (the token's owner for a token).")


@extend_schema(
    responses={200: RootSerializer, 401: OpenApiResponse(ErrorSerializer, description="No credentials.")},
    summary="Who is asking",
    examples=examples.ROOT,
)
@api_view(["GET"])
def root(request: Request) -> Response:
    """The signed-in caller and the API's version."""
    return Response({"version": "v1", "user": request.user.get_username()})

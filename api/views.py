"""The API's root: who is asking and what there is (docs/api.md)."""

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response


@api_view(["GET"])
def root(request: Request) -> Response:
    """The signed-in caller and the API's version."""
    return Response({"version": "v1", "user": request.user.get_username()})

"""Public banner endpoints, included at /banners/ (namespace "banners")."""

from django.urls import path

from . import banner_views

app_name = "banners"
urlpatterns = [
    path("embed.js", banner_views.embed_js, name="embed"),
    path("<str:name>.json", banner_views.banner_json, name="json"),
]

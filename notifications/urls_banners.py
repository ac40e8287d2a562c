"""Public banner endpoints, included at the site root (namespace "notifications")."""

from django.urls import path

from . import banner_views

urlpatterns = [
    path("banners/embed.js", banner_views.embed_js, name="banner_embed"),
    path("banners/<str:name>.json", banner_views.banner_json, name="banner_json"),
]

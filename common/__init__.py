"""Helpers more than one app needs (no models, no domain imports)."""

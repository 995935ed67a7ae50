"""Placeholder until its owner fills it: the workspace paths of this area (namespace "ui")."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

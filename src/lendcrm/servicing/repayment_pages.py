"""Placeholder until its owner fills it."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

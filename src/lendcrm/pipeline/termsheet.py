"""The term sheet as a document: one template, shown as an HTML page (with print CSS) and rendered to
PDF by WeasyPrint, in the language asked for rather than the reader's interface language."""

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from lendcrm.pipeline.models import Proposal

LANGUAGES = ("en", "zh-hans")
# The PDF's links resolve against this made-up origin; only its static files are ever read.
DOCUMENT_ORIGIN = "https://lendcrm.invalid"
STYLESHEET = "pipeline/termsheet.css"
# WeasyPrint narrates every step at INFO; its warnings (a refused URL, a missing font) still show.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def document_language(requested: str | None, fallback: str) -> str:
    """The language asked for (`en` or `zh-hans`), else the reader's, else English."""
    for code in (requested, fallback):
        if code and code.lower() in LANGUAGES:
            return code.lower()
    return LANGUAGES[0]


def _context(proposal: Proposal, language: str) -> dict[str, Any]:
    opportunity = proposal.opportunity
    dated = proposal.issued_at or proposal.created_at
    return {
        "proposal": proposal,
        "opportunity": opportunity,
        "borrower": opportunity.party,
        "guarantors": list(proposal.guarantors.all()),
        "facilities": list(proposal.facilities.all()),
        "dated": dated,
        "document_language": language,
        "chinese": language == "zh-hans",
        "stylesheet": settings.STATIC_URL + STYLESHEET,
    }


def render_html(proposal: Proposal, *, language: str) -> str:
    """The document itself (an <article>), for embedding in the workspace page."""
    with translation.override(language):
        return render_to_string("pipeline/_termsheet.html", _context(proposal, language))


def render_pdf(proposal: Proposal, *, language: str) -> bytes:
    """The same document as a PDF; nothing is fetched but our own stylesheet."""
    with translation.override(language):
        page = render_to_string("pipeline/termsheet_pdf.html", _context(proposal, language))
    document = HTML(string=page, base_url=DOCUMENT_ORIGIN + "/", url_fetcher=StaticOnlyFetcher())
    pdf: bytes = document.write_pdf()
    return pdf


class StaticOnlyFetcher(URLFetcher):
    """Refuses every URL except our own static files, read from disk: a term sheet never reaches the
    network (banks run air-gapped, and a document must not leak that it was opened)."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        path = static_path(url)
        if path is None:
            raise ValueError(f"refused to fetch {url}")
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": _mime(path)})


def static_path(url: str) -> Path | None:
    """The file behind one of our static URLs, or None for anything else."""
    parts = urlsplit(url)
    origin = urlsplit(DOCUMENT_ORIGIN)
    if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
        return None
    if not parts.path.startswith(settings.STATIC_URL) or ".." in parts.path.split("/"):
        return None
    found = finders.find(parts.path[len(settings.STATIC_URL) :])
    return Path(found) if isinstance(found, str) else None


def _mime(path: Path) -> str:
    return {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}.get(
        path.suffix, "application/octet-stream"
    )

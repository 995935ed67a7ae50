"""The term sheet as a document: one template, shown as an HTML page (with print CSS) and rendered to
PDF by WeasyPrint, in the language asked for rather than the reader's interface language.

WeasyPrint (and the Pango library under it) is imported only when a PDF is made (`termsheet_pdf`), so the
rest of the workspace runs, and reports a clear error for the PDF alone, on a machine without Pango."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation

from lendcrm.pipeline.models import Proposal

LANGUAGES = ("en", "zh-hans")
# The PDF's links resolve against this made-up origin; only its static files are ever read.
DOCUMENT_ORIGIN = "https://lendcrm.invalid"
STYLESHEET = "pipeline/termsheet.css"


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
    from lendcrm.pipeline import termsheet_pdf  # only here: it loads WeasyPrint and Pango

    return termsheet_pdf.write_pdf(page, base_url=DOCUMENT_ORIGIN + "/")


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


def mime_type(path: Path) -> str:
    return {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}.get(
        path.suffix, "application/octet-stream"
    )

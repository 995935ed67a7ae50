"""The PDF side of the term sheet: WeasyPrint, with a URL fetcher that only ever reads our static files."""

from typing import Any

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from lendcrm.pipeline.termsheet import mime_type, static_path


def write_pdf(page: str, *, base_url: str) -> bytes:
    pdf: bytes = HTML(string=page, base_url=base_url, url_fetcher=StaticOnlyFetcher()).write_pdf()
    return pdf


class StaticOnlyFetcher(URLFetcher):
    """Refuses every URL except our own static files, read from disk: a term sheet never reaches the
    network (banks run air-gapped, and a document must not leak that it was opened)."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        path = static_path(url)
        if path is None:
            raise ValueError(f"refused to fetch {url}")
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime_type(path)})

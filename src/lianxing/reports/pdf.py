"""PDF rendering: the HTML report laid out by WeasyPrint (CJK text in Noto Sans CJK).

Everything the page needs is inline (CSS and SVG charts), so nothing is fetched.
"""

from __future__ import annotations

from lianxing.reports.html import render_html
from lianxing.reports.model import ReviewReport


def render_pdf(report: ReviewReport, lang: str = "zh") -> bytes:
    # Imported here: WeasyPrint loads Pango at import, which only PDF output needs.
    from weasyprint import HTML  # type: ignore[import-untyped]

    document = HTML(string=render_html(report, lang)).render()
    pdf: bytes = document.write_pdf()
    return pdf

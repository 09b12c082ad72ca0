"""Server-rendered pages and the security headers every portal response carries."""

from __future__ import annotations

from html import escape

# No inline script or style anywhere, no third-party origin: the CSP can be this strict.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def page(title: str, body_html: str, *, lang: str = "en") -> str:
    """A complete, accessible HTML document around already-escaped ``body_html``."""
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · arcollect</title></head>"
        f'<body><main id="main"><h1>{escape(title)}</h1>{body_html}</main></body></html>\n'
    )


def not_found_page(path: str) -> str:
    return page(
        "Page not found",
        f"<p>There is no page at <code>{escape(path)}</code>.</p>"
        "<p>To see your account, open the link in the most recent email we sent you.</p>",
    )


def home_page() -> str:
    return page(
        "Your account",
        "<p>Open the link in the most recent email we sent you to see what is open on your account, "
        "promise a payment date, dispute an invoice or update your contact details.</p>",
    )

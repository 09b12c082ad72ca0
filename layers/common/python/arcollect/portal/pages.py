"""The security headers every portal response carries. The pages themselves are Jinja2 templates in
arcollect.portal.web (templates/, rendered by web/pages.py); this module stays importable for code that
needs the headers or the policy."""

from __future__ import annotations

# No inline script or style anywhere, no third-party origin: the CSP can be this strict. Two responses
# narrow-extend it: the dispute receipt may connect to the S3 origin of its presigned upload URL, and
# the Swagger UI page may run its one inline bootstrap script, allowed by its sha256 hash.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS"]

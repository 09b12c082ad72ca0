"""The portal's web layer: HTML pages, the JSON API under /api/v1, OpenAPI and Swagger UI."""

from arcollect.portal.web.app import build_app

__all__ = ["build_app"]

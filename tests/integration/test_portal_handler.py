"""Portal: the API Gateway proxy event in, an HTML or JSON response with security headers out."""

from __future__ import annotations

import json

from tests.integration.conftest import invoke, load_event


def get(path: str) -> dict[str, object]:
    event = load_event("apigw_get.json")
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    return dict(invoke("portal", event))


def test_health_answers_ok() -> None:
    response = get("/health")
    assert response["statusCode"] == 200
    assert json.loads(str(response["body"])) == {"status": "ok", "environment": "test"}


def test_an_unknown_path_gets_a_404_page() -> None:
    response = get("/no/such/page")
    assert response["statusCode"] == 404
    headers = response["multiValueHeaders"]
    assert isinstance(headers, dict)
    assert headers["Content-Type"] == ["text/html"]
    assert "Page not found" in str(response["body"])
    assert "/no/such/page" in str(response["body"])


def test_every_response_carries_the_security_headers() -> None:
    for path in ("/health", "/", "/missing"):
        headers = get(path)["multiValueHeaders"]
        assert isinstance(headers, dict)
        assert headers["X-Content-Type-Options"] == ["nosniff"]
        assert headers["Referrer-Policy"] == ["no-referrer"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"][0]
        assert headers["Strict-Transport-Security"][0].startswith("max-age=")


def test_a_path_is_escaped_in_the_404_page() -> None:
    body = str(get("/<script>alert(1)</script>")["body"])
    assert "<script>" not in body
    assert "&lt;script&gt;" in body

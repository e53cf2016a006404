from __future__ import annotations

from tests.factories import DOMAIN


def test_metrics_count_requests_by_route_template_and_status(sqlite_api):
    sqlite_api.get("/api/v1/keys/abc/nothing", headers=DOMAIN)
    sqlite_api.post("/api/v1/auth/login", headers=DOMAIN, json={"email": "a@b.c", "password": "x"})
    text = sqlite_api.get("/metrics").text
    assert (
        'lehnz_http_requests_total{method="POST",route="/api/v1/auth/login",status="401"}' in text
    )
    assert 'route="unmatched",status="404"' in text
    assert 'lehnz_http_request_duration_seconds_bucket{le="0.005",method="POST"' in text


def test_openapi_lists_each_paths_credential(sqlite_api):
    spec = sqlite_api.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["DeveloperToken"]["scheme"] == "bearer"
    keys = spec["paths"]["/api/v1/keys"]["get"]
    assert keys["security"] == [{"DeveloperToken": []}]
    assert "Credential: developer token" in keys["description"]
    assert "security" not in spec["paths"]["/api/v1/auth/login"]["post"]
    docs = sqlite_api.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()

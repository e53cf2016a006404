"""``/openapi.json`` says what the server really answers, and ``/docs`` and ``/redoc`` work
with no internet."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import DOMAIN, Tenant, tenant

METHODS = ("get", "put", "post", "delete", "patch")
UNSCOPED = {"/healthz", "/readyz", "/metrics"}

EXPECTED_IDS = {
    ("post", "/recommend"): "recommend",
    ("get", "/item/{item_id}"): "similarItems",
    ("post", "/recommend/session"): "sessionRecommendations",
    ("post", "/recommend/basket"): "basketRecommendations",
    ("post", "/recommend/price_optimized"): "priceOptimizedRecommendations",
    ("post", "/api/v1/events/ingest"): "trackEvents",
    ("post", "/api/v1/items"): "upsertItems",
    ("get", "/api/v1/items/{item_id}"): "getItem",
    ("delete", "/api/v1/items/{item_id}"): "deleteItem",
    ("post", "/api/v1/users"): "upsertUsers",
    ("get", "/api/v1/users/{user_id}"): "getUser",
    ("delete", "/api/v1/users/{user_id}"): "deleteUser",
    ("get", "/api/v1/users/{user_id}/events"): "listUserEvents",
    ("post", "/api/v1/upload/items"): "uploadItems",
    ("post", "/api/v1/upload/users"): "uploadUsers",
    ("post", "/api/v1/upload/events"): "uploadEvents",
    ("post", "/api/v1/auth/register"): "register",
    ("post", "/api/v1/auth/login"): "login",
    ("get", "/api/v1/keys"): "listKeys",
    ("post", "/api/v1/keys"): "createKey",
    ("post", "/api/v1/keys/{key_id}/rotate"): "rotateKey",
    ("delete", "/api/v1/keys/{key_id}"): "revokeKey",
    ("post", "/api/v1/models/train"): "trainModel",
    ("get", "/api/v1/models"): "listModels",
    ("get", "/api/v1/settings/event_families"): "getEventFamilies",
    ("put", "/api/v1/settings/event_families"): "setEventFamilies",
    ("get", "/api/v1/settings/rate_limit"): "getRateLimit",
    ("put", "/api/v1/settings/rate_limit"): "setRateLimit",
    ("delete", "/api/v1/settings/rate_limit"): "resetRateLimit",
    ("get", "/api/v1/stats/attribution"): "getAttribution",
    ("get", "/healthz"): "getLiveness",
    ("get", "/readyz"): "getReadiness",
    ("get", "/metrics"): "getMetrics",
}

# The error statuses each operation documents, besides 400 (every API path: validation and
# X-Domain). 408, 413 and 415 go with a body; 503 with a request limit (its store down).
KEY = {401, 403, 429, 503}
BODY = {408, 413, 415}
DEVELOPER = {401}
EXPECTED_ERRORS = {
    "recommend": KEY | BODY,
    "similarItems": KEY | {404},
    "sessionRecommendations": KEY | BODY | {404},
    "basketRecommendations": KEY | BODY,
    "priceOptimizedRecommendations": KEY | BODY,
    "trackEvents": KEY | BODY,
    "upsertItems": KEY | BODY,
    "getItem": KEY | {404},
    "deleteItem": KEY | {404},
    "upsertUsers": KEY | BODY,
    "getUser": KEY | {404},
    "deleteUser": KEY | {404},
    "listUserEvents": KEY,
    "uploadItems": KEY | BODY,
    "uploadUsers": KEY | BODY,
    "uploadEvents": KEY | BODY,
    "register": {403, 409, 429, 503} | BODY,
    "login": {401, 429, 503} | BODY,
    "listKeys": DEVELOPER,
    "createKey": DEVELOPER | BODY,
    "rotateKey": DEVELOPER | BODY | {404},
    "revokeKey": DEVELOPER | {404},
    "trainModel": KEY,
    "listModels": KEY,
    "getEventFamilies": DEVELOPER,
    "setEventFamilies": DEVELOPER | BODY,
    "getRateLimit": DEVELOPER,
    "setRateLimit": DEVELOPER | BODY,
    "resetRateLimit": DEVELOPER,
    "getAttribution": DEVELOPER,
}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


@pytest.fixture(scope="module")
def document(sqlite_api: TestClient) -> dict[str, Any]:
    response = sqlite_api.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    references: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                references.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert references
    for reference in references:
        assert reference.startswith("#/"), reference
        target: Any = document
        for part in reference[2:].split("/"):
            assert isinstance(target, dict) and part in target, f"{reference} is not defined"
            target = target[part]


def test_operation_ids_are_stable_and_readable(document: dict[str, Any]) -> None:
    found = {(method, path): op["operationId"] for method, path, op in operations(document)}
    assert found == EXPECTED_IDS
    assert len(set(found.values())) == len(found)


def test_error_statuses_are_those_answered_each_with_the_envelope(
    document: dict[str, Any],
) -> None:
    for method, path, op in operations(document):
        statuses = {int(status) for status in op["responses"] if int(status) >= 400}
        name = op["operationId"]
        if path in UNSCOPED:
            assert statuses == ({503} if path == "/readyz" else set()), path
            continue
        assert 422 not in statuses
        assert statuses == {400} | EXPECTED_ERRORS[name], f"{method} {path}"
        for status in statuses:
            schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (name, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_x_domain_is_a_required_header_on_every_api_path(document: dict[str, Any]) -> None:
    for _method, path, op in operations(document):
        headers = [p for p in op.get("parameters", []) if p["name"].lower() == "x-domain"]
        if path in UNSCOPED:
            assert headers == [], path
            continue
        assert len(headers) == 1, path
        assert headers[0]["in"] == "header"
        assert headers[0]["required"] is True
        assert headers[0]["schema"] == {"type": "string", "enum": ["commerce"]}


def test_each_operation_names_its_credential(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["PublishableKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-KEY",
        "description": schemes["PublishableKey"]["description"],
    }
    assert schemes["SecretKey"]["name"] == "X-API-KEY"
    assert schemes["DeveloperToken"]["type"] == "http"
    assert schemes["DeveloperToken"]["scheme"] == "bearer"
    security = {op["operationId"]: op.get("security") for _, _, op in operations(document)}
    assert security["recommend"] == [{"PublishableKey": []}]
    assert security["trackEvents"] == [{"PublishableKey": []}]
    assert security["upsertItems"] == [{"SecretKey": []}]
    assert security["uploadEvents"] == [{"SecretKey": []}]
    assert security["trainModel"] == [{"SecretKey": []}]
    assert security["createKey"] == [{"DeveloperToken": []}]
    assert security["getAttribution"] == [{"DeveloperToken": []}]
    assert security["register"] is None
    assert security["getLiveness"] is None


def test_an_event_timestamp_is_iso_8601_or_epoch_seconds(document: dict[str, Any]) -> None:
    body = document["paths"]["/api/v1/events/ingest"]["post"]["requestBody"]
    one, many = body["content"]["application/json"]["schema"]["oneOf"]
    for event in (one, many["items"]):
        kinds = event["properties"]["timestamp"]["anyOf"]
        assert {"type": "string", "format": "date-time"}.items() <= kinds[0].items()
        assert kinds[1]["type"] == "number"


def test_answers_are_typed(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    def data_schema(path: str, method: str = "post") -> dict[str, Any]:
        reference = document["paths"][path][method]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]["$ref"]
        resolved: dict[str, Any] = schemas[reference.rsplit("/", 1)[1]]
        return resolved

    for path, extra in [
        ("/recommend", "placement"),
        ("/recommend/price_optimized", "user_id"),
        ("/recommend/session", "item_id"),
        ("/recommend/basket", "basket_items"),
    ]:
        answer = data_schema(path)
        assert {"recommendation_id", "all_item_ids", "recommendations", "meta", extra} <= set(
            answer["properties"]
        ), path
    assert "mode" in data_schema("/item/{item_id}", "get")["properties"]
    for kind in ("items", "users", "events"):
        envelope = data_schema(f"/api/v1/upload/{kind}")
        report = schemas[envelope["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
        assert {"imported", "rejected", "errors"} <= set(report["properties"]), kind
    assert "Envelope_dict_str__Any__" not in schemas


def _request(client: TestClient, org: Tenant, method: str, path: str, op: dict[str, Any]):  # type: ignore[no-untyped-def]
    scheme = next(iter((op.get("security") or [{}])[0]), None)
    headers = {
        "PublishableKey": org.publishable_headers,
        "SecretKey": org.secret_headers,
        "DeveloperToken": org.account.headers,
        None: DOMAIN,
    }[scheme]
    if "{key_id}" in path:
        keys = client.get("/api/v1/keys", headers=org.account.headers).json()["data"]["keys"]
        path = path.replace("{key_id}", keys[0]["id"])
    content = op["requestBody"]["content"]
    if "multipart/form-data" in content:
        example = content["multipart/form-data"]["example"]
        files = {"file": ("example.csv", example["file"].encode())}
        return client.request(method, path, headers=headers, files=files)
    example = content["application/json"]["example"]
    return client.request(method, path, headers=headers, json=example)


def test_every_request_body_has_an_example_the_server_accepts(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    org = tenant(api)
    sent = []
    for method, path, op in operations(document):
        if "requestBody" not in op:
            continue
        response = _request(api, org, method, path, op)
        # The example registration may already exist in this database (another run).
        accepted = {409} if op["operationId"] == "register" else set()
        assert response.status_code < 300 or response.status_code in accepted, (
            op["operationId"],
            response.text,
        )
        sent.append(op["operationId"])
    assert api.delete("/api/v1/settings/rate_limit", headers=org.account.headers).is_success
    assert {"trackEvents", "upsertItems", "uploadItems", "recommend"} <= set(sent)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_the_server_itself(
    sqlite_api: TestClient, page: str
) -> None:
    response = sqlite_api.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "://" not in html, "the page refers to another origin"
    urls = re.findall(r'(?:src|href|spec-url)="([^"]+)"', html)
    urls += re.findall(r"url: '([^']+)'", html)
    assert urls
    kinds = set()
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = sqlite_api.get(url)
        assert asset.status_code == 200, url
        kind = asset.headers["content-type"].split(";")[0]
        assert kind in {"text/javascript", "application/javascript", "text/css", "image/png"} | {
            "application/json"
        }, (url, kind)
        kinds.add(kind)
        if url.endswith(".js"):
            assert len(asset.content) > 500_000  # the real bundle, not a stub
    assert "application/json" in kinds  # the document itself
    assert any("javascript" in kind for kind in kinds)
    if page == "/docs":
        assert "text/css" in kinds

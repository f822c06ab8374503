"""The OpenAPI spec documents every error a route answers, in the one error shape; and the two
bugs the fuzzer (tests/system/test_fuzz_api.py, `make test-fuzz`) found stay fixed in the fast
suite."""

from __future__ import annotations

from tests.service.api.test_service import assert_error_shape


def test_every_documented_error_has_the_one_error_shape(client):
    spec = client.get("/openapi.json").json()
    api = {path: ops for path, ops in spec["paths"].items() if path.startswith("/v1/")}
    assert api
    for path, operations in api.items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
            assert {"401", "403", "422"} <= set(errors), (method, path)
            for code, response in errors.items():
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, code)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    item = api["/v1/items/{item_id}/events"]["post"]["responses"]
    assert {"404", "409"} <= set(item)
    assert "503" in spec["paths"]["/readyz"]["get"]["responses"]


def test_a_body_that_is_not_utf8_json_is_a_422(client):
    response = client.post(
        "/v1/items",
        content=b'{"items": [{"id": "a", "text": "\xff\xfe"}]}',
        headers={"content-type": "application/json"},
    )
    error = assert_error_shape(response, 422, "body")
    assert error["details"][0]["found"] == "a body that is not UTF-8 JSON"


def test_an_item_id_past_the_database_integer_is_a_422_not_a_500(client):
    for too_big in (2**31, 2**63, -(2**70)):
        assert_error_shape(client.get(f"/v1/items/{too_big}"), 422, "path.item_id")
        response = client.post(f"/v1/items/{too_big}/events", json={"type": "claim"})
        assert_error_shape(response, 422, "path.item_id")
    assert_error_shape(client.get(f"/v1/items/{2**31 - 1}"), 404, "item_id")

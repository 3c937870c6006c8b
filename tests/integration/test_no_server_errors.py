"""Bad input never answers 500, and every error has the one shape ``{code, message: {zh-CN, en}, problems?}``.

One regression test per reproduction of issue 16 item 7 (found from outside with schemathesis),
on SQLite and PostgreSQL: huge integers in paths and queries, a superscript digit as an id, duplicate
role names, a form named like a platform table, lone surrogates and NUL bytes, a crafted cursor, a
negative offset, malformed / too deep / too large bodies, OPTIONS and wrong methods.
"""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import login

HUGE = 2**64 + 5          # above every 64-bit column
BIG = 2**63 - 1           # fits a BIGINT, not an INTEGER (user and token ids are 32-bit on PostgreSQL)


def shaped(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer has ``status`` and the one error shape; returns the body."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    body = r.json()
    assert isinstance(body["code"], str) and set(body["message"]) == {"zh-CN", "en"}, body
    assert "detail" not in body or isinstance(body["detail"], dict), body
    if code:
        assert body["code"] == code, body
    return body


def paths_of(body: dict[str, Any]) -> set[str]:
    return {p["path"] for p in body.get("problems", [])}


def test_huge_integers_in_paths_and_queries_answer_422_naming_the_parameter(client: TestClient, plant: Any) -> None:
    admin = plant.h("admin")
    cases = [
        ("GET", f"/api/records/iqc_inspection/{HUGE}", "/record_id"),
        ("GET", f"/api/records/iqc_inspection/{HUGE}/audit", "/record_id"),
        ("PATCH", f"/api/records/iqc_inspection/{HUGE}", "/record_id"),
        ("GET", f"/api/records/iqc_inspection/{HUGE}/transitions", "/record_id"),
        ("GET", f"/api/forms/iqc_inspection/versions/{HUGE}", "/version"),
        ("GET", f"/api/forms/iqc_inspection/diff?from={HUGE}&to=1", "/from"),
        ("GET", f"/api/outbox?limit={HUGE}", "/limit"),
        ("GET", f"/api/workflow-instances/{HUGE}", "/instance_id"),
        ("GET", f"/api/workflow-instances?form=ncr&record_id={HUGE}", "/record_id"),
        ("POST", f"/api/tasks/{HUGE}/approve", "/task_id"),
        ("DELETE", f"/api/auth/tokens/{HUGE}", "/token_id"),
        ("DELETE", f"/api/auth/tokens/{BIG}", "/token_id"),
        ("PUT", f"/api/admin/users/{BIG}/roles", "/user_id"),
        ("GET", f"/api/print/iqc_label?record_id={HUGE}", "/record_id"),
        ("GET", f"/api/tasks?offset={HUGE}", "/offset"),
    ]
    for method, url, where in cases:
        r = client.request(method, url, headers=admin, json={"roles": []} if method in ("PUT", "PATCH") else None)
        body = shaped(r, 422, "invalid_input")
        assert where in paths_of(body), (url, body)
    # the biggest id a BIGINT holds is a valid id that does not exist: 404, not an overflow
    shaped(client.get(f"/api/records/iqc_inspection/{BIG}", headers=admin), 404, "not_found")
    # ids in bodies too
    body = shaped(client.post("/api/workflows/ncr_review/start", json={"record_id": HUGE}, headers=admin), 422)
    assert paths_of(body) == {"/record_id"}
    body = shaped(client.post("/api/outbox/retry", json={"ids": [1, HUGE, "x"]}, headers=admin), 422)
    assert paths_of(body) == {"/ids/1"}
    body = shaped(client.post("/api/notifications/read", json={"ids": "abc"}, headers=admin), 422)
    assert paths_of(body) == {"/ids"}


def test_negative_offset_on_tasks_is_refused(client: TestClient, plant: Any) -> None:
    body = shaped(client.get("/api/tasks", params={"offset": -1}, headers=plant.h("qc1")), 422, "invalid_input")
    assert paths_of(body) == {"/offset"} and "0" in body["problems"][0]["message"]["zh-CN"]
    assert client.get("/api/tasks", params={"offset": 0}, headers=plant.h("qc1")).status_code == 200


def test_directory_ids_must_be_ascii_ids(client: TestClient, plant: Any) -> None:
    qc1 = plant.h("qc1")
    for bad in ("²", "1,²", "-1", "1" * 30, "abc"):
        body = shaped(client.get("/api/directory/users", params={"ids": bad}, headers=qc1), 422, "invalid_input")
        assert paths_of(body) == {"/ids"}, bad
    me = client.get("/api/auth/me", headers=qc1).json()["id"]
    assert [u["username"] for u in client.get("/api/directory/users", params={"ids": f" {me} ,"}, headers=qc1).json()] == ["qc1"]


def test_duplicate_role_names_are_one_role(client: TestClient, plant: Any) -> None:
    admin = plant.h("admin")
    for role in ("inspector", "viewer"):   # roles are created on their own, not by giving them to a user
        assert client.post("/api/admin/roles", json={"name": role}, headers=admin).status_code == 201
    r = client.post("/api/admin/users", json={"username": "dup_roles", "password": "dup-pass-123",
                                              "roles": ["inspector", "inspector", "viewer"]}, headers=admin)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    r = client.put(f"/api/admin/users/{uid}/roles", json={"roles": ["viewer", "viewer"]}, headers=admin)
    assert r.status_code == 200 and r.json()["roles"] == ["viewer"], r.text
    listed = {u["username"]: u for u in client.get("/api/admin/users", headers=admin).json()}
    assert listed["dup_roles"]["roles"] == ["viewer"]
    # a role name is a role name: no empty or odd ones created on the fly
    body = shaped(client.put(f"/api/admin/users/{uid}/roles", json={"roles": ["", "a b"]}, headers=admin), 422)
    assert paths_of(body) == {"/roles/0", "/roles/1"}


@pytest.mark.parametrize("name,hint", [("mom_user", "user_info"), ("mom_token", "token"), ("sqlite_master", "master"),
                                       ("iqc__rows", "iqc_rows"), ("select", "select_list")])
def test_reserved_form_names_are_refused_with_a_hint(client: TestClient, admin: dict[str, str], name: str, hint: str) -> None:
    definition = {"format": "mom.form/1", "name": name, "label": {"zh-CN": "表", "en": "T"},
                  "fields": [{"id": "f1", "key": "code", "type": "text", "label": {"zh-CN": "编号", "en": "Code"}}]}
    body = shaped(client.put(f"/api/forms/{name}", json=definition, headers=admin), 422, "invalid_input")
    problem = next(p for p in body["problems"] if p["path"] == "/name")
    assert problem["code"] == "reserved" and hint in problem["message"]["en"] and hint in problem["message"]["zh-CN"]
    body = shaped(client.post("/api/forms/plan", json=definition, headers=admin), 422)
    assert "/name" in paths_of(body)
    assert client.get("/api/admin/users", headers=admin).status_code == 200   # mom_user untouched


def test_lone_surrogates_and_nul_are_refused_where_they_are(client: TestClient, plant: Any) -> None:
    qc1 = plant.h("qc1")
    raw = '{"lot_no": "L-\\ud800", "remarks": "ok\\u0000", "readings": [{"characteristic": "\\udc00x"}]}'
    body = shaped(client.post("/api/records/iqc_inspection", content=raw.encode(),
                              headers={**qc1, "content-type": "application/json"}), 422, "invalid_input")
    assert paths_of(body) == {"/lot_no", "/remarks", "/readings/0/characteristic"}
    assert {p["code"] for p in body["problems"]} == {"lone_surrogate", "nul_character"}
    # a key with NUL, and a valid surrogate pair (an emoji) is fine
    body = shaped(client.post("/api/records/iqc_inspection/preview", content=b'{"a\\u0000b": 1}',
                              headers={**qc1, "content-type": "application/json"}), 422)
    assert body["problems"][0]["code"] == "nul_character"
    ok = client.post("/api/records/iqc_inspection/preview", content='{"remarks": "\\ud83d\\ude00"}'.encode(),
                     headers={**qc1, "content-type": "application/json"})
    assert ok.status_code == 200, ok.text
    # unauthenticated sign-in form, query strings and headers
    body = shaped(client.post("/api/auth/token", data={"username": "ad\x00min", "password": "x"}), 422)
    assert paths_of(body) == {"/username"}
    body = shaped(client.get("/api/records/iqc_inspection?lot_no=%00x", headers=qc1), 422)
    assert paths_of(body) == {"/lot_no"}
    body = shaped(client.get("/api/scan?code=a%00", headers=qc1), 422)
    assert paths_of(body) == {"/code"}
    body = shaped(client.get("/api/records/iqc%00/1", headers=qc1), 422)
    assert paths_of(body) == {"/path"}
    # an upload's file name (multipart bodies are checked where their text is used)
    upload = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.txt"\r\n\r\nhello\r\n--XX--\r\n'
    body = shaped(client.post("/api/attachments", content=upload,
                              headers={**qc1, "content-type": "multipart/form-data; boundary=XX"}), 422)
    assert paths_of(body) == {"/file/filename"}
    # nothing was written
    assert client.get("/api/records/iqc_inspection", params={"lot_no": "L-"}, headers=qc1).json()["items"] == []


def test_bodies_that_cannot_be_read_get_the_error_shape(client: TestClient, plant: Any, settings: Any) -> None:
    qc1 = {**plant.h("qc1"), "content-type": "application/json"}
    body = shaped(client.post("/api/records/iqc_inspection", content=b'{"lot_no": ', headers=qc1), 422, "invalid_input")
    assert body["problems"][0]["code"] == "json_invalid"
    body = shaped(client.post("/api/records/iqc_inspection", content=b"\xff\xfe{}", headers=qc1), 422)
    assert body["problems"][0]["code"] == "encoding"
    deep = b"[" * 65 + b"]" * 65
    body = shaped(client.post("/api/forms/plan", content=deep, headers=qc1), 422)
    assert body["problems"][0]["code"] == "too_deep"
    very_deep = b'{"a": ' * 100_000 + b"1" + b"}" * 100_000       # used to hit Python's recursion limit
    shaped(client.post("/api/forms/plan", content=very_deep, headers=qc1), 422)
    r = client.post("/api/preview-depth-ok", content=b"[" * 60 + b"]" * 60, headers=qc1)   # 60 levels pass the guard
    assert r.status_code == 404, r.text
    body = shaped(client.post("/api/records/iqc_inspection", content=b'{"qty": NaN}', headers=qc1), 422)
    assert body["problems"][0]["code"] == "not_a_number"
    body = shaped(client.post("/api/records/iqc_inspection", content=b'{"qty": ' + b"9" * 5000 + b"}", headers=qc1), 422)
    assert body["problems"][0]["code"] == "number_too_long"
    body = shaped(client.post("/api/records/iqc_inspection", content=b'{"qty": 1e400}', headers=qc1), 422)
    assert paths_of(body) == {"/qty"} and body["problems"][0]["code"] == "not_a_number"
    # too large: announced (Content-Length) and streamed (chunked, no length)
    big = b'{"remarks": "' + b"x" * (settings.max_request_bytes + 10) + b'"}'
    shaped(client.post("/api/records/iqc_inspection", content=big, headers=qc1), 413, "too_large")

    def chunks() -> Any:
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    shaped(client.post("/api/records/iqc_inspection", content=chunks(), headers=qc1), 413, "too_large")
    shaped(client.post("/api/auth/token", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}),
           413, "too_large")


def test_crafted_cursor_answers_422_naming_after(client: TestClient, plant: Any) -> None:
    qc1 = plant.h("qc1")
    first = client.get("/api/records/supplier", params={"limit": 1}, headers=qc1).json()
    assert first["next"]
    nxt = client.get("/api/records/supplier", params={"limit": 1, "after": first["next"]}, headers=qc1)
    assert nxt.status_code == 200 and nxt.json()["items"][0]["id"] != first["items"][0]["id"]

    def cursor(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    for crafted in (cursor({"0": 1}), cursor([[1]]), cursor(["x"]), cursor([HUGE]), cursor(1), "%%%", cursor([True])):
        body = shaped(client.get("/api/records/supplier", params={"limit": 1, "after": crafted}, headers=qc1), 422)
        assert paths_of(body) == {"/after"}, crafted
    body = shaped(client.get("/api/records/iqc_inspection", params={"sort": "inspected_on", "after": cursor(["not a date", 1])},
                             headers=qc1), 422)
    assert paths_of(body) == {"/after"}


def test_framework_errors_have_the_shape_and_options_lists_the_methods(client: TestClient, plant: Any) -> None:
    qc1 = plant.h("qc1")
    body = shaped(client.get("/api/no-such-thing", headers=qc1), 404, "not_found")
    assert "/api/no-such-thing" in body["message"]["en"]
    r = client.options("/api/records/iqc_inspection/1")
    assert r.status_code == 204 and r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"
    assert client.options("/api/forms/plan").headers["allow"] == "OPTIONS, POST"     # not /api/forms/{name}'s
    assert client.options("/api/records/iqc_inspection").headers["allow"] == "GET, HEAD, OPTIONS, POST"
    r = client.put("/api/records/iqc_inspection/1", json={}, headers=qc1)
    body = shaped(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH" and body["detail"]["allow"] == r.headers["allow"].split(", ")
    # /import is its own path: PATCH there is not a record update
    r = client.patch("/api/records/iqc_inspection/import", json={}, headers=qc1)
    shaped(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "OPTIONS, POST"
    # a pydantic error names the parameter in words
    body = shaped(client.get("/api/tasks", params={"limit": "x"}, headers=qc1), 422)
    assert body["problems"][0]["path"] == "/limit" and "limit" in body["problems"][0]["message"]["zh-CN"]


def test_an_unexpected_error_is_the_last_resort_in_the_same_shape(settings: Any, engine: Any,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    from mom.platform.api.app import create_app

    app = create_app(settings, engine)

    def boom() -> None:
        raise RuntimeError("a defect")

    app.add_api_route("/api/test-boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        body = shaped(c.get("/api/test-boom"), 500, "internal_error")
    assert "a defect" not in json.dumps(body)                       # no internals to the caller …
    assert any("a defect" in (r.exc_text or "") or "test-boom" in r.getMessage() for r in caplog.records)   # … but logged


def test_list_filters_with_out_of_range_or_mistyped_values(client: TestClient, plant: Any) -> None:
    """Record-list filters are not in the OpenAPI (any field may be one), so fuzzing cannot reach them:
    found by hand on PostgreSQL (integer overflow, LIKE on a number)."""
    admin = plant.h("admin")
    for query, where in ((f"id={HUGE}", "/id"), (f"id__in=1,{HUGE}", "/id"), ("created_by=9999999999", "/created_by"),
                         ("row_version=99999999999", "/row_version"), ("form_version=99999999999", "/form_version"),
                         (f"supplier={HUGE}", "/supplier"), ("inspector=99999999999", "/inspector"),
                         ("created_at=5", "/created_at"), ("id=abc", "/id"), (f"limit={HUGE}", "/limit")):
        body = shaped(client.get(f"/api/records/iqc_inspection?{query}", headers=admin), 422, "invalid_input")
        assert paths_of(body) == {where}, (query, body)
    body = shaped(client.get(f"/api/records/iqc_inspection/export?format=csv&id={HUGE}", headers=admin), 422)
    assert paths_of(body) == {"/id"}
    # LIKE on a number or a date compares its text, on both databases
    everything = client.get("/api/records/iqc_inspection", params={"count": 1}, headers=admin).json()["total"]
    assert client.get("/api/records/iqc_inspection", params={"qty__like": "%", "count": 1}, headers=admin).json()["total"] == everything
    assert client.get("/api/records/iqc_inspection", params={"inspected_on__like": "20", "count": 1},
                      headers=admin).json()["total"] == everything


def test_report_date_range_presets_are_bounded(client: TestClient, plant: Any) -> None:
    """Report parameters are not in the OpenAPI either: last_N_days with a huge N overflowed the date (500)."""
    admin = plant.h("admin")
    for n in ("99999999999", "0", "²"):
        body = shaped(client.get("/api/reports/iqc_daily/data", params={"period": f"last_{n}_days"}, headers=admin), 422)
        assert paths_of(body) == {"/params/period"}, (n, body)
    # a dashboard answers per widget: each says what is wrong, in the same shape
    widgets = client.get("/api/dashboards/quality_overview/data", params={"period": "last_99999999999_days"},
                         headers=admin).json()["widgets"]
    assert widgets and all(w["error"]["code"] == "invalid_input" for w in widgets if "error" in w) and any("error" in w for w in widgets)
    assert client.get("/api/reports/iqc_daily/data", params={"period": "last_45_days"}, headers=admin).status_code == 200


def test_record_values_out_of_the_columns_range_are_field_problems(client: TestClient, plant: Any) -> None:
    """Found by hand on PostgreSQL (record fields are not in the OpenAPI): a reference or user id beyond
    its column (as a number or as digits) and a datetime before year 1 in UTC were 500s."""
    admin = plant.h("admin")
    for key, value in (("supplier", HUGE), ("supplier", str(HUGE)), ("supplier", "1" * 5000), ("inspector", 2**40),
                       ("inspector", str(2**40))):
        for url in ("/api/records/iqc_inspection", "/api/records/iqc_inspection/preview"):
            r = client.post(url, json={key: value}, headers=admin)
            assert r.status_code in (200, 422), (key, value, r.text)
            problems = r.json()["problems"]
            assert any(p["path"] == f"/{key}" and p["code"] in ("type", "not_found") for p in problems), (key, value, problems)
    body = shaped(client.post("/api/records/production_order", json={"released_at": "0001-01-01"}, headers=admin), 422)
    assert "/released_at" in paths_of(body)

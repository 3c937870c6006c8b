"""The web app uploads, saves and downloads attachments by their random public ids (issue 16, item 3):
the record form keeps the id the upload answered, and the file's link fetches the file with its name.
The link shows the file's name and size, not its id (review item 2); a file over the field's
max_size_mb is refused before uploading, saying what to do (review item 3)."""
from __future__ import annotations

import httpx

from tests.ui.conftest import login

FORM = {"format": "mom.form/1", "name": "doc_att", "label": {"zh-CN": "文件", "en": "Files"},
        "permissions": [{"role": "*", "actions": ["create", "read", "update"]}],
        "fields": [{"id": "f1", "key": "title", "type": "text", "label": {"zh-CN": "标题", "en": "Title"}},
                   {"id": "f2", "key": "photos", "type": "attachment", "label": {"zh-CN": "照片", "en": "Photos"}}]}


def test_upload_save_and_download_a_file(page, server, api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin = api()
    r = httpx.put(server + "/api/forms/doc_att", json=FORM, headers=admin.h)
    assert r.status_code == 200, r.text
    f = tmp_path / "质检照片.txt"
    f.write_bytes(b"hello from the browser")
    login(page, server)
    page.goto(server + "/#/f/doc_att/new")
    page.fill("input[data-field=title]", "t1")
    page.set_input_files("[data-field=photos] input[type=file]", str(f))
    chip = page.locator("[data-field=photos] a.file")
    chip.wait_for()
    assert "质检照片.txt" in chip.inner_text() and "22 B" in chip.inner_text(), chip.inner_text()
    assert chip.locator("svg").count() == 1 and "📎" not in chip.inner_text()   # an icon, not an emoji
    page.click("[data-test=save]")
    page.wait_for_url(lambda u: u.split("/")[-1].isdigit())
    rec = admin.get("/api/records/doc_att")["items"][0]
    token = rec["photos"][0]
    assert isinstance(token, str) and len(token) >= 32 and not token.isdigit()
    page.goto(server + f"/#/f/doc_att/{rec['id']}")
    link = page.locator("[data-field=photos] a").first
    link.wait_for()
    page.wait_for_function("() => document.querySelector('[data-field=photos] a').innerText.includes('质检照片.txt')")
    assert token not in link.inner_text() and "22 B" in link.inner_text()   # a saved record's file by name too
    with page.expect_download() as dl:
        link.click()
    assert open(dl.value.path(), "rb").read() == b"hello from the browser"
    assert dl.value.suggested_filename == "质检照片.txt"


LIMITED = {**FORM, "name": "doc_small", "fields": [FORM["fields"][0], {**FORM["fields"][1], "max_size_mb": 1}]}


def test_a_file_over_the_fields_limit_is_refused_before_uploading(page, server, api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin = api()
    r = httpx.put(server + "/api/forms/doc_small", json=LIMITED, headers=admin.h)
    assert r.status_code == 200, r.text
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff" * (2 * 1048576))
    uploads: list[str] = []
    page.on("request", lambda q: uploads.append(q.url) if q.method == "POST" and "/api/attachments" in q.url else None)
    login(page, server)
    page.goto(server + "/#/f/doc_small/new")
    page.set_input_files("[data-field=photos] input[type=file]", str(big))
    note = page.locator("[data-field=photos] [data-test=file-note]")
    note.wait_for()
    assert note.inner_text() == "文件 big.jpg 有 2.0 MB，超过本栏 1 MB 的上限：请选择更小的文件"
    assert uploads == [] and page.locator("[data-field=photos] a.file").count() == 0


def test_a_saved_file_over_a_new_limit_says_to_remove_it(page, server, api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin = api()
    form = {**FORM, "name": "doc_later"}
    assert httpx.put(server + "/api/forms/doc_later", json=form, headers=admin.h).status_code == 200
    up = httpx.post(server + "/api/attachments", files={"file": ("scan.pdf", b"%" * (2 * 1048576), "application/pdf")},
                    headers=admin.h).json()
    rec = admin.post("/api/records/doc_later", {"title": "t", "photos": [up["id"]]})
    limited = {**form, "fields": [form["fields"][0], {**form["fields"][1], "max_size_mb": 1}]}
    r = httpx.put(server + "/api/forms/doc_later", json=limited, headers=admin.h)
    assert r.status_code == 200, r.text
    login(page, server)
    page.goto(server + f"/#/f/doc_later/{rec['id']}")
    note = page.locator("[data-field=photos] [data-test=file-note]")
    note.wait_for()
    assert "文件 scan.pdf 有 2.0 MB，超过本栏 1 MB 的上限" in note.inner_text() and "×" in note.inner_text()
    assert "scan.pdf (2.0 MB)" in page.locator("[data-field=photos] a.file").inner_text()

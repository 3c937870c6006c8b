"""The web app uploads, saves and downloads attachments by their random public ids (issue 16, item 3):
the record form keeps the id the upload answered, and the 📎 link fetches the file with its name."""
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
    page.locator("[data-field=photos] a.file").wait_for()
    page.click("[data-test=save]")
    page.wait_for_url(lambda u: u.split("/")[-1].isdigit())
    rec = admin.get("/api/records/doc_att")["items"][0]
    token = rec["photos"][0]
    assert isinstance(token, str) and len(token) >= 32 and not token.isdigit()
    page.goto(server + f"/#/f/doc_att/{rec['id']}")
    link = page.locator("[data-field=photos] a").first
    link.wait_for()
    with page.expect_download() as dl:
        link.click()
    assert open(dl.value.path(), "rb").read() == b"hello from the browser"
    assert dl.value.suggested_filename == "质检照片.txt"

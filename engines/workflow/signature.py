"""手写签名: a signature drawn on a phone (a canvas saved as PNG) stored with an approval decision.

The client uploads the image like any attachment (``POST /api/attachments``) and sends its id as
``signature`` with ``approve`` or ``reject``. It must be an image the approver uploaded, PNG or JPEG,
at most ``MAX_BYTES``; it is linked to the instance like a comment's files, so whoever may see the
instance's timeline (which follows the record's permissions) may see it, nobody else.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mom.engines.workflow.instance import WorkflowInstance
from mom.engines.workflow.runtime import Runtime
from mom.engines.workflow.spec import NodeSpec
from mom.platform import files as store
from mom.platform.errors import InvalidInput, Problem

MAX_BYTES = 300 * 1024
TYPES = ("image/png", "image/jpeg")


def _bad(zh: str, en: str, code: str) -> InvalidInput:
    return InvalidInput(zh, en, problems=[Problem("/signature", zh, en, code)])


def take_signature(rt: Runtime, node: NodeSpec, body: Mapping[str, Any], inst: WorkflowInstance) -> str | None:
    """The signature's file id of a decision (checked and tied to the instance), or None; a node that
    requires one refuses a decision without it."""
    token = body.get("signature")
    if token in (None, ""):
        if node.signature == "required":
            raise _bad(f"「{node.label['zh-CN']}」需要手写签名：请在签名区签字后再提交",
                       f"{node.label.get('en') or node.id} needs a handwritten signature: sign, then submit", "required")
        return None
    if not isinstance(token, str):
        raise _bad("签名应为上传签名图片时返回的 id", "signature must be the id the upload of the signature image returned", "type")
    row = store.by_token(rt.conn, token)
    if row is None or not (rt.ctx.actor.is_admin or row.created_by == rt.ctx.actor.id):
        raise _bad("签名图片不存在或不是你本人上传的，请重新签名", "the signature image does not exist or was not uploaded by you; sign again",
                   "not_yours")
    if row.content_type not in TYPES:
        raise _bad("签名应为 PNG 或 JPEG 图片，请重新签名", "the signature must be a PNG or JPEG image; sign again", "type")
    if int(row.size) > MAX_BYTES:
        raise _bad(f"签名图片过大（最多 {MAX_BYTES // 1024} KB），请重新签名", f"the signature image is too large (at most {MAX_BYTES // 1024} KB)",
                   "too_large")
    store.add_links(rt.conn, [row.id], kind="workflow", ref_id=int(inst.id))
    return token

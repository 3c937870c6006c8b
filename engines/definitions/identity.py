"""A definition's identity: the hash that says whether a published definition changed."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def definition_hash(raw: Mapping[str, Any]) -> str:
    """SHA-256 of the definition's canonical JSON (sorted keys, no spaces): equal for equal content."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()

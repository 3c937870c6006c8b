"""Lot labels (批次标签): the text a label's QR code carries, and reading it back from a scan.

Scan text: ``LOT:<item code>:<lot number>`` — e.g. ``LOT:RM-HT250:RM-HT250-20261203-001``. The item
code is written with ``%`` as ``%25`` and ``:`` as ``%3A`` (so the first ``:`` after it ends it); the lot
number is everything after, as it is. A lot number alone is unique per item only, so the label names
the item too. What a scan page does with a scanned text (:func:`parse`): a ``LOT:`` text gives the item
code and the lot number; anything else is a bare code (an item code, a lot number, a location code) and
is looked up as before.

The labels are the core pack's print templates ``lot_label`` (one lot: ``GET /api/print/lot_label?lot=
<number>[&item=<code>]``, one label per location holding it, with the quantity there) and
``lot_labels`` (the lots a document made: ``GET /api/print/lot_labels?document=<document code>``, one
label per lot with the quantity received), both 60 × 40 mm, through the print engine (``&format=pdf``).
"""
from __future__ import annotations

from typing import NamedTuple

PREFIX = "LOT:"
MAX_SCAN = 200


class Scanned(NamedTuple):
    item_code: str
    number: str


def _escape(code: str) -> str:
    return code.replace("%", "%25").replace(":", "%3A")


def _unescape(code: str) -> str:
    return code.replace("%3A", ":").replace("%3a", ":").replace("%25", "%")


def scan_text(item_code: str, number: str) -> str:
    """The text of a lot's QR code: ``LOT:<item code>:<lot number>``."""
    return f"{PREFIX}{_escape(str(item_code))}:{number}"


def parse(text: str) -> Scanned | None:
    """A scanned ``LOT:`` text as (item code, lot number); None when ``text`` is not one (a bare code)
    or is malformed (no item code or no number), or longer than a label ever is."""
    text = (text or "").strip()
    if len(text) > MAX_SCAN or text[:len(PREFIX)].upper() != PREFIX:
        return None
    code, sep, number = text[len(PREFIX):].partition(":")
    if not sep or not code.strip() or not number.strip():
        return None
    return Scanned(_unescape(code.strip()), number.strip())

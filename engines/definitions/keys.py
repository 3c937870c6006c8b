"""Keys from labels: the snake_case names (form, field, option, flow, report, dashboard) made from
what the user typed in Chinese, so that nobody has to type an English identifier.

``来料检验记录`` -> ``lai_liao_jian_yan_ji_lu``; Latin letters and digits are kept (``PH值`` ->
``ph_zhi``, ``2号线`` -> ``f_2_hao_xian`` for a field: a key starts with a letter). Keys are unique
within what is ``taken`` and within the batch (``_2``, ``_3`` … appended), never a ``reserved`` one,
and at most ``max_length`` long. The same labels and taken names give the same keys (the designer
asks again as a label is typed; a published key is never asked for again: it is stable).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from pypinyin import Style, lazy_pinyin

#: what a key starts with when the label gives no letter to start with (empty, digits first)
PREFIX = {"form": "form", "field": "f", "option": "o", "flow": "flow", "report": "report", "dashboard": "dash"}
MAX_LENGTH = 30
_SPLIT = re.compile(r"[^a-z0-9]+")


def _words(label: str) -> list[str]:
    """The label as lowercase ASCII words: one per Chinese character (its pinyin), Latin and digit runs kept."""
    text = unicodedata.normalize("NFKC", label or "")   # full-width letters/digits, ① -> 1
    out: list[str] = []
    for part in lazy_pinyin(text, style=Style.NORMAL, errors=lambda s: [s]):
        ascii_part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode().lower()
        out.extend(w for w in _SPLIT.split(ascii_part.replace("ü", "v")) if w)
    return out


def _trim(words: list[str], limit: int) -> str:
    """Whole words joined by ``_`` within ``limit`` characters (a first word longer than that is cut)."""
    key = ""
    for w in words:
        nxt = f"{key}_{w}" if key else w
        if len(nxt) > limit:
            break
        key = nxt
    return key or (words[0][:limit] if words else "")


def base_key(label: str, kind: str = "field", max_length: int = MAX_LENGTH) -> str:
    """The key a label gives before uniqueness: snake_case, starting with a letter."""
    prefix = PREFIX.get(kind, "k")
    words = _words((label or "")[: max_length * 2])   # a key holds max_length letters: the rest cannot show
    if not words:
        return prefix
    if not words[0][0].isalpha():
        words = [prefix, *words]
    return _trim(words, max_length)


def make_keys(labels: Iterable[str], *, kind: str = "field", taken: Iterable[str] = (),
              reserved: Callable[[str], bool] = lambda _k: False, max_length: int = MAX_LENGTH) -> list[str]:
    """One unique key per label, in order (see the module's doc)."""
    used = set(taken)
    out = []
    last: dict[str, int] = {}       # per base, the number it last got: the numbers below are all used
    for label in labels:
        base = base_key(label, kind, max_length)
        if reserved(base) and reserved(f"{base}_2"):      # reserved whatever the number (a prefix: mom_…)
            base = _trim([PREFIX.get(kind, "k"), *base.split("_")], max_length)
        n = last.get(base, 1)
        key = base if n == 1 else base[: max_length - len(f"_{n}")].rstrip("_").replace("__", "_") + f"_{n}"
        while key in used or reserved(key) or "__" in key:
            n += 1
            if n > 10_000:
                raise ValueError(f"no free key for {label!r}")
            suffix = f"_{n}"
            key = base[: max_length - len(suffix)].rstrip("_").replace("__", "_") + suffix
        used.add(key)
        last[base] = n
        out.append(key)
    return out

"""Three-way merge of JSON definitions: a plant's customisations kept across a pack upgrade.

``merge(base, plant, pack)`` takes ``base``, the definition as pack vN shipped it; ``plant``, the
plant's live definition (customised in the designer); and ``pack``, the definition pack vN+1 ships.
It returns the definition to publish, the conflicts, and in words what it kept and what it took.
It is pure: no database, the inputs are never modified, the merged definition is a new object.

The rules, applied from the top of the definition down:

- Equal sides short-cut: plant == base -> the pack's; pack == base -> the plant's; plant == pack ->
  the plant's. "Equal" is JSON equality (``true`` is not ``1``; key order does not matter).
- Objects merge key by key; a missing key is "absent". Added on one side only -> taken. Removed on
  one side and unchanged on the other -> removed. Removed on one side and changed on the other ->
  conflict.
- Lists of objects with an identity merge item by item. The identity is the first of ``id``,
  ``key``, ``name``, ``value``, ``role`` that every item of the three lists has (a string or a
  number), unique within each list. Items are matched by identity and merged by these same rules:
  added on either side -> kept (a plant's added field or step stays); deleted on one side and
  unchanged on the other -> deleted; deleted on one side and changed on the other -> conflict;
  added on both sides with the same identity -> merged as if the base had nothing there (equal
  parts are fine, different parts are conflicts). Order: the pack's, with each item only the plant
  has inserted right after the item that precedes it in the plant's list (or first). Nested lists
  (a table field's ``fields``, a condition's ``branches[i].nodes``) merge the same way.
- Other lists (of scalars, or of objects without an identity): when the three have the same length,
  position by position (so the branches of a condition merge branch by branch); otherwise as one
  value: changed on one side -> that side; changed differently on both -> conflict.
- Scalars: changed on one side -> that side; changed to different values on both -> conflict.
- At a conflict the merged definition holds the plant's value (a plant's deletion stays a
  deletion), so it stays what the plant runs today until someone decides; ``MergeConflict`` carries
  the three values (``None`` where a side has nothing).

Places are named in words a quality supervisor reads: a list item by its label (``title`` for a
dashboard widget; its identity only when it has no label) with a noun for its list (fields ->
字段/field, nodes -> 节点/step, …), a property by its Chinese name (label -> 名称, max_length ->
最大长度, …; an unknown property by its own name): ``字段「问题描述」的 名称`` / ``field “Problem”:
label``. ``kept`` and ``taken`` say what was carried over from the plant and taken from the new
version, one line per added or deleted item and one per changed property.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

IDENTITIES = ("id", "key", "name", "value", "role")

# The noun of a list's items: {list key: (zh-CN, en)}.
NOUNS: dict[str, tuple[str, str]] = {
    "fields": ("字段", "field"), "nodes": ("节点", "step"), "options": ("选项", "option"),
    "columns": ("列", "column"), "widgets": ("组件", "widget"), "branches": ("分支", "branch"),
    "measures": ("指标", "measure"), "dimensions": ("维度", "dimension"), "filters": ("筛选条件", "filter"),
    "permissions": ("权限", "permission"), "actions": ("操作", "action"), "assignees": ("处理人", "assignee"),
    "params": ("参数", "parameter"), "rules": ("校验规则", "rule"), "roles": ("角色", "role"),
    "indexes": ("索引", "index"), "escalate_to": ("升级对象", "escalation target"), "to": ("接收人", "recipient"),
    "channels": ("渠道", "channel"), "editable_fields": ("可编辑字段", "editable field"), "sort": ("排序", "sort"),
    "users": ("用户", "user"), "workdays": ("工作日", "workday"), "hours": ("时段", "period"),
}

# Property names: {key: (zh-CN, en)}; an unknown key is shown as it is.
PROPS: dict[str, tuple[str, str]] = {
    "label": ("名称", "label"), "title": ("标题", "title"), "description": ("说明", "description"),
    "required": ("必填", "required"), "type": ("类型", "type"), "options": ("选项", "options"),
    "max_length": ("最大长度", "max length"), "min": ("最小值", "min"), "max": ("最大值", "max"),
    "scale": ("小数位", "decimal places"), "precision": ("总位数", "precision"), "default": ("默认值", "default"),
    "unique": ("唯一", "unique"), "hidden": ("隐藏", "hidden"), "readonly": ("只读", "read-only"),
    "pattern": ("编号规则", "numbering pattern"), "form": ("表单", "form"), "formula": ("公式", "formula"),
    "result_type": ("结果类型", "result type"), "display_field": ("显示字段", "display field"),
    "fields": ("字段", "fields"), "permissions": ("权限", "permissions"), "roles": ("角色", "roles"),
    "actions": ("操作", "actions"), "scope": ("数据范围", "scope"), "indexes": ("索引", "indexes"),
    "rules": ("校验规则", "rules"), "message": ("提示", "message"), "when": ("条件", "condition"),
    "if": ("条件", "condition"), "where": ("条件", "condition"), "assignees": ("处理人", "assignees"),
    "mode": ("审批方式", "approval mode"), "timeout": ("超时", "timeout"), "hours": ("小时", "hours"),
    "action": ("超时动作", "action"), "escalate_to": ("升级对象", "escalate to"),
    "editable_fields": ("可编辑字段", "editable fields"), "nodes": ("节点", "steps"), "branches": ("分支", "branches"),
    "trigger": ("触发方式", "trigger"), "on": ("触发事件", "trigger"), "event": ("事件", "event"),
    "self_approval": ("本人审批", "self-approval"), "calendar": ("工作日历", "calendar"),
    "workdays": ("工作日", "workdays"), "source": ("数据来源", "source"), "filters": ("筛选条件", "filters"),
    "dimensions": ("维度", "dimensions"), "measures": ("指标", "measures"), "params": ("参数", "parameters"),
    "agg": ("汇总方式", "aggregate"), "field": ("字段", "field"), "op": ("比较方式", "operator"),
    "bucket": ("分组粒度", "bucket"), "format": ("格式", "format"), "decimals": ("小数位", "decimals"),
    "ratio": ("比率", "ratio"), "running_total": ("累计", "running total"), "max_days": ("最大天数", "max days"),
    "preaggregate": ("预汇总", "pre-aggregate"), "widgets": ("组件", "widgets"), "position": ("位置", "position"),
    "refresh_seconds": ("刷新间隔（秒）", "refresh seconds"), "report": ("报表", "report"), "value": ("值", "value"),
    "target": ("目标值", "target"), "lsl": ("下限", "LSL"), "usl": ("上限", "USL"), "chart": ("图表类型", "chart"),
    "text": ("文本", "text"), "columns": ("列", "columns"), "template": ("模板", "template"),
    "paper": ("纸张", "paper"), "values": ("取值", "values"), "to": ("接收人", "recipients"),
    "channels": ("渠道", "channels"), "payload": ("内容", "payload"), "users": ("用户", "users"),
    "enabled": ("启用", "enabled"), "cron": ("定时", "schedule"), "workflow": ("流程", "workflow"),
}


@dataclass(frozen=True)
class MergeConflict:
    """One place both sides changed differently; the merged definition holds the plant's value."""
    path: tuple[str | int, ...]       # dict keys, list identities or list positions
    where: dict[str, str]             # {"zh-CN": "字段「问题描述」的 名称", "en": "field “Problem”: label"}
    base: Any                         # None where a side has nothing
    plant: Any
    pack: Any


@dataclass
class MergeResult:
    """The definition to publish, its conflicts, and in words what was kept and taken."""
    merged: Any
    conflicts: list[MergeConflict] = field(default_factory=list)
    kept: list[dict[str, str]] = field(default_factory=list)    # plant customisations carried over
    taken: list[dict[str, str]] = field(default_factory=list)   # pack changes taken


class _Absent:
    """A key or list item one side does not have (distinct from a JSON ``null``)."""
    def __repr__(self) -> str:
        return "ABSENT"

    def __deepcopy__(self, memo: dict) -> _Absent:
        return self


ABSENT: Any = _Absent()
# Keys of a translated text ({"zh-CN": …, "en": …}): merged key by key, named as the text itself.
LANGS = frozenset({"zh-CN", "zh-TW", "zh-HK", "en", "en-US", "ja", "ko", "de", "fr", "es", "pt", "ru", "vi", "th"})
Seg = tuple[str, str, str]            # ("item" | "prop", zh-CN, en)


def merge(base: Any, plant: Any, pack: Any) -> MergeResult:
    """Merge the plant's ``plant`` and the new version's ``pack``, both derived from ``base``.

    Pass ``ABSENT`` for a side that has no definition at all (no recorded base: both sides "added"
    it, so equal parts merge and different parts conflict); ``merged`` is then None if the result is
    no definition.
    """
    m = _Merger()
    merged = m.value(base, plant, pack, (), [], None)
    return MergeResult(merged=None if merged is ABSENT else merged, conflicts=m.conflicts, kept=m.kept,
                       taken=m.taken)


def same(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    if a is ABSENT or b is ABSENT or a != b:
        return a is b
    return type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float)))


def identity(*lists: Any) -> str | None:
    """The identity attribute of these lists of objects (absent lists skipped), or None."""
    present = [x for x in lists if x is not ABSENT]
    if not all(isinstance(x, list) and all(isinstance(i, dict) for i in x) for x in present):
        return None
    for attr in IDENTITIES:
        ok = True
        for items in present:
            ids = [i.get(attr) for i in items]
            if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in ids) or len(set(ids)) != len(ids):
                ok = False
                break
        if ok:
            return attr
    return None


class _Merger:
    def __init__(self) -> None:
        self.conflicts: list[MergeConflict] = []
        self.kept: list[dict[str, str]] = []
        self.taken: list[dict[str, str]] = []

    def value(self, b: Any, p: Any, k: Any, path: tuple, trail: list[Seg], key: str | None) -> Any:
        """Merge one value; ``key`` is the object key holding it (None for list items and the root)."""
        if same(p, b):
            _describe(b, k, trail, key, self.taken, "pack")
            return copy.deepcopy(k)
        if same(k, b):
            _describe(b, p, trail, key, self.kept, "plant")
            return copy.deepcopy(p)
        if same(p, k):
            return copy.deepcopy(p)            # both made the same change: nothing to say
        if p is ABSENT or k is ABSENT:
            return self._conflict(b, p, k, path, trail, key)
        if isinstance(p, dict) and isinstance(k, dict) and (b is ABSENT or isinstance(b, dict)):
            return self._dict({} if b is ABSENT else b, p, k, path, _into(trail, key))
        if isinstance(p, list) and isinstance(k, list) and (b is ABSENT or isinstance(b, list)):
            attr = identity(b, p, k)
            if attr is not None:
                return self._by_identity([] if b is ABSENT else b, p, k, attr, path, trail, key)
            if b is not ABSENT and len(b) == len(p) == len(k):
                return [self.value(b[i], p[i], k[i], path + (i,), trail + [_item(key, p[i], i, None)], None)
                        for i in range(len(k))]
        return self._conflict(b, p, k, path, trail, key)

    def _conflict(self, b: Any, p: Any, k: Any, path: tuple, trail: list[Seg], key: str | None) -> Any:
        def plain(v: Any) -> Any:
            return None if v is ABSENT else copy.deepcopy(v)
        self.conflicts.append(MergeConflict(path=path, where=where(_into(trail, key)), base=plain(b),
                                            plant=plain(p), pack=plain(k)))
        return copy.deepcopy(p)

    def _dict(self, b: dict, p: dict, k: dict, path: tuple, trail: list[Seg]) -> dict:
        out: dict = {}
        for name in [*k, *(n for n in p if n not in k), *(n for n in b if n not in k and n not in p)]:
            v = self.value(b.get(name, ABSENT), p.get(name, ABSENT), k.get(name, ABSENT), path + (name,),
                           trail, name)
            if v is not ABSENT:
                out[name] = v
        return out

    def _by_identity(self, b: list, p: list, k: list, attr: str, path: tuple, trail: list[Seg],
                     key: str | None) -> list:
        bs, ps, ks = ({i[attr]: i for i in x} for x in (b, p, k))
        merged: dict[Any, Any] = {}
        for ident in [*ks, *(i for i in ps if i not in ks), *(i for i in bs if i not in ks and i not in ps)]:
            bi, pi, ki = bs.get(ident, ABSENT), ps.get(ident, ABSENT), ks.get(ident, ABSENT)
            shown = next(x for x in (pi, ki, bi) if x is not ABSENT)
            merged[ident] = self.value(bi, pi, ki, path + (ident,), trail + [_item(key, shown, None, attr)], None)
        order = [i for i in ks if merged[i] is not ABSENT]
        plant_order = list(ps)
        for n, ident in enumerate(plant_order):
            if ident in ks or merged[ident] is ABSENT:
                continue
            at = next((order.index(prev) + 1 for prev in reversed(plant_order[:n]) if prev in order), 0)
            order.insert(at, ident)
        return [merged[i] for i in order]


def _describe(old: Any, new: Any, trail: list[Seg], key: str | None, out: list[dict[str, str]], who: str) -> None:
    """Say in words how ``new`` differs from ``old``: one line per added/deleted item or changed property."""
    if same(old, new):
        return
    if isinstance(old, dict) and isinstance(new, dict) and not (_is_text(old) and _is_text(new)):
        inner = _into(trail, key)
        for name in [*new, *(n for n in old if n not in new)]:
            _describe(old.get(name, ABSENT), new.get(name, ABSENT), inner, name, out, who)
        return
    if isinstance(old, list) and isinstance(new, list):
        attr = identity(old, new)
        if attr is not None and (old or new):
            olds, news = {i[attr]: i for i in old}, {i[attr]: i for i in new}
            for ident in [*news, *(i for i in olds if i not in news)]:
                o, n = olds.get(ident, ABSENT), news.get(ident, ABSENT)
                shown = n if (who == "plant" and n is not ABSENT) or o is ABSENT else o   # as the plant has it
                seg = _item(key, shown, None, attr)
                _describe(o, n, trail + [seg], None, out, who)
            if [i for i in news if i in olds] != [i for i in olds if i in news]:
                out.append(_sentence(who, ABSENT, ABSENT, _into(trail, key), reorder=True))
            return
        if len(old) == len(new) and any(isinstance(x, (dict, list)) for x in new):
            for i, (o, n) in enumerate(zip(old, new)):
                _describe(o, n, trail + [_item(key, n if who == "plant" else o, i, None)], None, out, who)
            return
    out.append(_sentence(who, old, new, _into(trail, key)))


def _sentence(who: str, old: Any, new: Any, trail: list[Seg], reorder: bool = False) -> dict[str, str]:
    """"保留工厂新增的字段「供应商批号」" / "kept the plant's new field “Supplier lot”" and the like."""
    place = where(trail)
    is_item = bool(trail) and trail[-1][0] == "item"
    zh_who, en_who = ("保留工厂", "kept the plant's") if who == "plant" else ("采用新版本", "took the new version's")
    if reorder:                                   # the same items in another order
        return {"zh-CN": f"{zh_who}对{place['zh-CN']}顺序的调整", "en": f"{en_who} new order of {place['en']}"}
    if is_item and old is ABSENT:
        return {"zh-CN": f"{zh_who}新增的{place['zh-CN']}", "en": f"{en_who} new {place['en']}"}
    if is_item and new is ABSENT:
        zh = f"保持工厂已删除的{place['zh-CN']}" if who == "plant" else f"按新版本删除{place['zh-CN']}"
        return {"zh-CN": zh, "en": f"{en_who} removal of {place['en']}"}
    return {"zh-CN": f"{zh_who}对{place['zh-CN']}{'的' if place['zh-CN'].endswith('」') else ' 的'}修改", "en": f"{en_who} change to {place['en']}"}


def where(trail: list[Seg]) -> dict[str, str]:
    """The place a trail of segments names, in Chinese and English."""
    if not trail:
        return {"zh-CN": "整个定义", "en": "the whole definition"}
    zh, en = trail[0][1], trail[0][2]
    for prev, seg in zip(trail, trail[1:]):
        zh = _join(zh, seg[1])
        en += (": " if prev[0] == "item" and seg[0] == "prop" else " › ") + seg[2]
    return {"zh-CN": zh, "en": en}


def _join(zh: str, more: str) -> str:
    return f"{zh}的 {more}" if zh.endswith("」") else f"{zh} 的 {more}"


def _is_text(d: dict) -> bool:
    return bool(d) and all(k in LANGS and isinstance(v, str) for k, v in d.items())


def _into(trail: list[Seg], key: str | None) -> list[Seg]:
    if key is None or key in LANGS:        # a translation is named as its text: 名称, not 名称 的 zh-CN
        return trail
    zh, en = PROPS.get(key, (key, key.replace("_", " ")))
    return trail + [("prop", zh, en)]


def _item(key: str | None, item: Any, index: int | None, attr: str | None) -> Seg:
    """A list item named by its label (or identity, or position) with the noun of its list."""
    noun_zh, noun_en = NOUNS.get(key or "", ("项", "item"))
    zh, en = _label(item, attr)
    if zh is not None:
        return ("item", f"{noun_zh}「{zh}」", f"{noun_en} “{en}”")
    n = (index or 0) + 1
    return ("item", f"第 {n} 个{noun_zh}" if noun_zh != "项" else f"第 {n} 项", f"{noun_en} {n}")


def _label(item: Any, attr: str | None) -> tuple[str | None, str | None]:
    if not isinstance(item, dict):
        return None, None
    for name in ("label", "title"):
        label = item.get(name)
        if isinstance(label, str) and label:
            return label, label
        if isinstance(label, dict):
            zh, en = label.get("zh-CN") or label.get("en"), label.get("en") or label.get("zh-CN")
            if isinstance(zh, str) and isinstance(en, str):
                return zh, en
    if item.get("else") is True:
        return "其他情况", "otherwise"
    if item.get("role") == "*" and attr in (None, "role"):
        return "所有人", "everyone"
    for name in ((attr,) if attr else ()) + IDENTITIES + ("field", "department"):
        v = item.get(name)
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            return str(v), str(v)
    return None, None

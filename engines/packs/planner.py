"""The pack plan: what installing, upgrading or uninstalling a pack would do, decided before anything
is written.

For every definition a pack ships (forms, workflows, rules, reports, dashboards, print templates,
roles, and any plug-in step's items) the planner compares three versions: the *base* (what the
installed version of the pack shipped, kept in ``mom_pack_item``), the plant's *live* definition
(possibly customised in the designer) and what the new version ships:

- not there yet: **added**; live == base: the pack's version is taken (**changed** / **unchanged**);
- the pack did not change it but the plant did: the plant's stays (**kept**);
- both changed it: a three-way merge (``merge.merge``) — **merged**, or a **conflict** that blocks
  the whole plan, named in words;
- shipped before, no longer: **retired** (hidden, data kept); retired and shipped again: **restored**.

A name another pack owns, or a plant definition of the same name that differs from the pack's, blocks
the plan. ``PackPlan.hash`` covers every decision and every definition to install, so a confirmation
applies exactly what was shown (``manager.execute`` re-plans and compares).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.definitions.identity import definition_hash
from mom.engines.forms.model import text_of
from mom.engines.packs import merge as merging
from mom.engines.packs import state
from mom.engines.packs import steps as pack_steps

Words = dict[str, str]

#: where a pack's files come from, in words
ORIGINS = {"builtin": ("系统自带", "built in"), "path": ("服务器模型包目录", "pack folder on the server"),
           "uploaded": ("上传的", "uploaded"), "given": ("指定的文件夹", "given folder"), "installed": ("安装时的文件夹", "folder installed from")}

#: kinds whose "retired" is a switch the plant may also turn off by hand
SWITCHED = frozenset({"workflows", "rules"})

#: kinds several packs and the plant share (a role named by two packs is one role): never owned
#: exclusively, never a conflict, never retired with a pack
SHARED = frozenset({"roles"})


def words(zh: str, en: str) -> Words:
    return {"zh-CN": zh, "en": en}


def label_of(raw: Any, name: str) -> Words:
    """A definition's label as {"zh-CN", "en"} (its name where it has none)."""
    lab = raw.get("label") if isinstance(raw, dict) else None
    return {k: str(v) for k, v in text_of(lab or None, name).items()}


def kind_label(step: pack_steps.PackStep) -> Words:
    lab = getattr(step, "label", None) or {}
    return words(lab.get("zh-CN") or step.key, lab.get("en") or step.key)


def name_of(step: pack_steps.PackStep, raw: Any) -> str | None:
    fn = getattr(step, "name_of", None)
    if fn is not None:
        return fn(raw)
    return raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else None


@dataclass
class ItemDecision:
    """One definition: what happens to it."""

    pack: str
    kind: str
    name: str
    file: str
    change: str                      # added | changed | unchanged | kept | merged | retired | restored | purged | conflict
    label: Words
    kind_label: Words
    final: Any = None                # what to install (None: nothing to publish)
    shipped: Any = None              # what the pack ships (the next base)
    restore: bool = False            # retired now: bring it back
    details: list[Words] = field(default_factory=list)
    overlay: bool = False            # the plant's change to another pack's definition (``customisations``): not owned

    def as_dict(self) -> dict[str, Any]:
        return {"pack": self.pack, "kind": self.kind, "kind_label": self.kind_label, "name": self.name,
                "label": self.label, "change": self.change, "details": self.details, "customisation": self.overlay}


@dataclass
class PackWork:
    """One pack the plan installs, upgrades or uninstalls."""

    action: str                      # install | upgrade | uninstall
    name: str
    label: Words
    from_version: str | None
    to_version: str | None
    source: Any = None               # catalog.PackSource (install / upgrade)
    bundle: Any = None               # loader.Bundle (install / upgrade)
    items: list[ItemDecision] = field(default_factory=list)
    retire: list[ItemDecision] = field(default_factory=list)
    demo: bool = False
    purge: bool = False
    notes: list[Words] = field(default_factory=list)     # master data, demo data, migrations, menu: what else happens

    def as_dict(self) -> dict[str, Any]:
        src = self.source
        return {"name": self.name, "label": self.label, "action": self.action,
                "from_version": self.from_version, "to_version": self.to_version,
                "origin": getattr(src, "origin", None), "source": str(src.root) if src is not None else None,
                "notes": self.notes}


@dataclass
class PackPlan:
    action: str
    pack: str
    label: Words
    from_version: str | None
    to_version: str | None
    works: list[PackWork] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[Words] = field(default_factory=list)
    reasons: list[Words] = field(default_factory=list)
    demo: bool = False
    purge: bool = False
    failures: list[Words] = field(default_factory=list)   # what the rehearsal ran into (not part of the hash)
    #: (kind, name) -> the pack that gives it up: an upgraded pack's new version no longer ships a definition
    #: that a pack this plan installs ships under the same name (demo 2.0.0's production_order went to core)
    handed: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return bool(self.conflicts or self.reasons or self.failures)

    @property
    def hash(self) -> str:
        """What a confirmation confirms: every decision and every definition to install."""
        body = {"action": self.action, "pack": self.pack, "demo": self.demo, "purge": self.purge,
                "packs": [w.as_dict() for w in self.works],
                "items": [(d.pack, d.kind, d.name, d.change, d.restore, d.overlay,
                           definition_hash(d.final) if isinstance(d.final, dict) else json.dumps(d.final, sort_keys=True, default=str))
                          for w in self.works for d in [*w.items, *w.retire]],
                "conflicts": [(c["kind"], c["name"], c["where"]["en"]) for c in self.conflicts],
                "reasons": [r["en"] for r in self.reasons]}
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "pack": self.pack, "label": self.label, "from_version": self.from_version,
                "to_version": self.to_version, "packs": [w.as_dict() for w in self.works],
                "items": [d.as_dict() for w in self.works for d in [*w.items, *w.retire]],
                "conflicts": self.conflicts, "warnings": self.warnings, "blocked": self.blocked,
                "reasons": [*self.reasons, *self.failures], "demo": self.demo, "purge": self.purge, "hash": self.hash}

    def describe(self, lang: str = "zh-CN") -> str:
        """The plan as a person reads it (the CLI prints this)."""
        zh = lang == "zh-CN"
        acts = {"install": ("安装", "install"), "upgrade": ("升级", "upgrade"), "uninstall": ("卸载", "uninstall")}
        changes = {"added": ("新增", "added"), "changed": ("修改", "changed"), "unchanged": ("不变", "unchanged"),
                   "kept": ("保留工厂的修改", "plant's changes kept"), "merged": ("合并", "merged"),
                   "retired": ("停用（数据保留）", "retired (data kept)"), "restored": ("恢复", "restored"),
                   "purged": ("删除（含数据）", "purged (with its data)"), "conflict": ("冲突", "conflict"),
                   "blocked": ("被阻止", "blocked")}
        out = []
        for w in self.works:
            a = acts[w.action][0 if zh else 1]
            ver = f"{w.from_version or '-'} -> {w.to_version or '-'}"
            out.append(f"{a} {w.label[lang]}（{w.name} {ver}）" if zh else f"{a} {w.label[lang]} ({w.name} {ver})")
            if w.source is not None:
                where = ORIGINS.get(getattr(w.source, "origin", ""), ("", ""))[0 if zh else 1]
                out.append(f"  来源：{where} {w.source.root}" if zh else f"  from: {where} {w.source.root}")
            out.extend(f"  · {x[lang]}" for x in w.notes)
            for d in [*w.items, *w.retire]:
                if d.change == "unchanged" and not d.details:
                    continue
                said = changes[d.change] if d.change != "purged" or d.kind == "forms" else ("删除", "deleted")
                out.append(f"  {d.kind_label[lang]} {d.label[lang]}：{said[0]}" if zh else
                           f"  {d.kind_label[lang]} {d.label[lang]}: {said[1]}")
                out.extend(f"      {x[lang]}" for x in d.details)
            same = sum(1 for d in w.items if d.change == "unchanged" and not d.details)
            if same:
                out.append(f"  其余 {same} 项不变" if zh else f"  {same} more unchanged")
        for c in self.conflicts:
            plant, pack = value_words(c["plant"], lang), value_words(c["pack_value"], lang)
            if zh:
                p_ = "工厂删除了它" if c["plant"] is None else f"工厂改为 {plant}"
                n_ = "新版本删除了它" if c["pack_value"] is None else f"新版本改为 {pack}"
                was = f"（原来是 {value_words(c.get('base'), lang)}）" if c.get("base") is not None else ""
                out.append(f"  ✗ 冲突：{c['kind_label'][lang]}「{c['label'][lang]}」的 {c['where'][lang]}{was}：{p_}，{n_}")
            else:
                p_ = "the plant deleted it" if c["plant"] is None else f"the plant has {plant}"
                n_ = "the new version deletes it" if c["pack_value"] is None else f"the new version has {pack}"
                was = f" (was {value_words(c.get('base'), lang)})" if c.get("base") is not None else ""
                out.append(f"  ✗ conflict: {c['kind_label'][lang]} “{c['label'][lang]}”, {c['where'][lang]}{was}: {p_}, {n_}")
        if self.conflicts:
            out.append("  怎么办：在设计器里把上面这些地方改回原样或改成与新版本相同，再升级；或请模型包的作者调整新版本。" if zh else
                       "  What to do: in the designer, change these places back (or to the new version's values), then "
                       "upgrade again; or ask the pack's author to adjust the new version.")
        out.extend(f"  ! {x[lang]}" for x in self.warnings)
        out.extend(f"  ✗ {x[lang]}" for x in [*self.reasons, *self.failures])
        if self.blocked:
            out.append("计划被阻止，未做任何修改。" if zh else "The plan is blocked; nothing was changed.")
        return "\n".join(out)


def value_words(v: Any, lang: str) -> str:
    """A conflicting value as a person reads it: text as is, a labelled thing by its label, else short JSON."""
    if isinstance(v, str):
        return f"“{v}”"
    if isinstance(v, dict) and v.get("label") is not None:
        return f"「{label_of(v, '')[lang]}」" if lang == "zh-CN" else f"“{label_of(v, '')[lang]}”"
    if isinstance(v, dict) and set(v) <= {"zh-CN", "en"}:
        return f"“{v.get(lang) or next(iter(v.values()), '')}”"
    text = json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "…"


def add_conflict(plan: PackPlan, entry: dict[str, Any]) -> None:
    """One conflict per place: a label changed in both languages on both sides is one conflict."""
    key = (entry["pack"], entry["kind"], entry["name"], entry["where"]["zh-CN"])
    if all((c["pack"], c["kind"], c["name"], c["where"]["zh-CN"]) != key for c in plan.conflicts):
        plan.conflicts.append(entry)


def shipped_names(bundle: Any) -> set[tuple[str, str]]:
    """(kind, name) of every definition a loaded pack ships."""
    out = set()
    for step in pack_steps.registered(pm=bundle.plugins):
        if step.phase not in ("schema", "automation") or step.once:
            continue
        out |= {(step.key, n) for _, raw in bundle.of(step.key) if (n := name_of(step, raw)) is not None}
    return out


def handovers(works: list[PackWork], owners: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """(kind, name) -> old owner, for definitions one pack of the plan gives up (its upgrade no longer
    ships them) and another pack the plan installs ships under the same name."""
    shipped = {w.name: shipped_names(w.bundle) for w in works}
    upgraded = {w.name for w in works if w.action == "upgrade"}
    out: dict[tuple[str, str], str] = {}
    for w in works:
        for key in shipped[w.name] if w.action == "install" else ():
            old = owners.get(key)
            if old is not None and old != w.name and old in upgraded and key not in shipped[old] and key[0] not in SHARED:
                out[key] = old
    return out


def decide(conn: Connection, work: PackWork, owners: dict[tuple[str, str], str], plan: PackPlan) -> None:
    """Fill ``work.items`` / ``work.retire`` for an install or upgrade (conflicts and reasons into ``plan``)."""
    name = work.name
    row = state.packs(conn).get(name)
    bases = {(r["kind"], r["name"]): r["base"] for r in state.items_of(conn, name)}
    legacy = row is not None and not bases          # installed before the pack manager kept bases
    shipped: set[tuple[str, str]] = set()
    for step in pack_steps.registered(pm=work.bundle.plugins):
        if step.phase not in ("schema", "automation") or step.once:
            continue
        for file, raw in work.bundle.of(step.key):
            item = name_of(step, raw)
            if item is None:
                continue                          # the step's install reports what is wrong with it
            shipped.add((step.key, item))
            work.items.append(_decide_item(conn, step, work, file, item, raw, owners, bases, legacy, plan))
    for (kind, item), base in bases.items():
        if (kind, item) in shipped or kind in SHARED or plan.handed.get((kind, item)) == name:
            continue
        step = _step(work.bundle.plugins, kind)
        work.retire.append(ItemDecision(name, kind, item, "", "retired", label_of(base, item),
                                        kind_label(step) if step else words(kind, kind)))


def _step(pm: Any, kind: str) -> pack_steps.PackStep | None:
    return next((s for s in pack_steps.registered(pm=pm) if s.key == kind), None)


def _decide_item(conn: Connection, step: pack_steps.PackStep, work: PackWork, file: str, item: str, raw: Any,
                 owners: dict[tuple[str, str], str], bases: dict[tuple[str, str], Any], legacy: bool,
                 plan: PackPlan) -> ItemDecision:
    d = ItemDecision(work.name, step.key, item, file, "added", label_of(raw, item), kind_label(step), final=raw, shipped=raw)
    owner = owners.get((step.key, item))
    live_fn = getattr(step, "live", None)
    found = live_fn(conn, item) if live_fn is not None else None
    if step.key in SHARED:
        if found is not None:       # a role several packs (and the plant) name: the plant's stays; a missing label is filled
            live = found[0]
            d.change, d.final = ("unchanged", None) if _same(live, raw) else (
                ("changed", raw) if not (isinstance(live, dict) and live.get("label")) else ("kept", None))
        return d
    if owner is not None and owner != work.name and plan.handed.get((step.key, item)) == owner:
        d.details.append(words(
            f"从模型包 {owner} 接手：{owner} 的新版本不再带这个{d.kind_label['zh-CN']}；先运行 {owner} 的升级迁移处理原有数据，再新建",
            f"taken over from pack {owner}: its new version no longer ships this {d.kind_label['en']}; {owner}'s upgrade "
            "migration handles the existing data first, then this one is created"))
        return d
    if owner is not None and owner != work.name:
        theirs = label_of(found[0], item) if found else d.label
        plan.reasons.append(words(f"{d.kind_label['zh-CN']}「{theirs['zh-CN']}」属于模型包 {owner}，{work.label['zh-CN']} 不能再装一个同名的；请联系该包的作者改名",
                                  f"{d.kind_label['en']} “{theirs['en']}” belongs to pack {owner}; {work.label['en']} cannot install one "
                                  "of the same name (ask the pack's author to rename it)"))
        d.change, d.final = "blocked", None
        return d
    if found is None:
        if live_fn is None and (step.key, item) in bases:
            same = definition_hash(bases[(step.key, item)]) == definition_hash(raw) if isinstance(raw, dict) else False
            d.change = "unchanged" if same else "changed"
        return d
    live, retired = found
    # forms and reports are retired only with their pack; a flow or rule may be off by the plant's
    # choice: only a reinstall (the pack was uninstalled) switches it back on, and the plan says so
    d.restore = bool(retired) and (step.key not in SWITCHED or work.action == "install" and work.from_version is not None)
    if retired and step.key in SWITCHED and not d.restore:
        retired = False
        d.details.append(words("工厂已停用它：升级后仍然停用", "the plant switched it off: it stays off after the upgrade"))
    base = bases.get((step.key, item))
    if base is None and legacy:
        base = state.first_version(conn, step.key, item) or live
    if base is None:
        if _same(live, raw):
            d.change, d.final = ("restored" if retired else "unchanged"), None
            return d
        plan.reasons.append(words(
            f"已有工厂自建的{d.kind_label['zh-CN']}「{label_of(live, item)['zh-CN']}」与模型包的同名但内容不同：请先在设计器里给工厂的那个改名，再安装",
            f"the plant already has its own {d.kind_label['en']} “{label_of(live, item)['en']}” with the same name but other "
            "content: rename the plant's one in the designer first, then install"))
        d.change, d.final = "blocked", None
        return d
    if _same(live, base):
        d.change = "unchanged" if _same(raw, base) and _same(live, raw) else "changed"
        if _same(live, raw):
            d.final = None
        else:                                   # what the new version changes, in words
            d.details = list(merging.merge(base, live, raw).taken)
    elif _same(live, raw):
        d.change, d.final = "unchanged", None
    elif _same(raw, base):
        d.change, d.final = "kept", None
    else:
        result = merging.merge(base, live, raw)
        if result.conflicts:
            for c in result.conflicts:
                add_conflict(plan, {"pack": work.name, "kind": step.key, "kind_label": d.kind_label, "name": item,
                                    "label": d.label, "where": c.where, "plant": c.plant, "pack_value": c.pack,
                                    "base": c.base})
            d.change, d.final = "conflict", None
        else:
            d.change, d.final = "merged", result.merged
            d.details = [*result.kept, *result.taken]
    if retired and d.change in ("unchanged", "kept"):
        d.change = "restored"
    if d.restore and step.key in SWITCHED:
        d.details.append(words("将重新启用（卸载前如是手工停用的，装好后请再停用）",
                               "will be switched on again (if it was off by choice before the uninstall, switch it off again)"))
    return d


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return definition_hash(a) == definition_hash(b)
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def decide_uninstall(conn: Connection, work: PackWork) -> None:
    """Every definition the pack installed: retired (or purged)."""
    rank = {s.key: i for i, s in enumerate(pack_steps.registered())}
    for row in sorted(state.items_of(conn, work.name), key=lambda r: (rank.get(r["kind"], 99), r["name"])):
        if row["kind"] in SHARED:        # a role may be named by other packs and held by people: it stays
            continue
        step = _step(None, row["kind"])
        live_fn = getattr(step, "live", None) if step else None
        found = live_fn(conn, row["name"]) if live_fn is not None else None
        raw = found[0] if found else row["base"]
        work.retire.append(ItemDecision(work.name, row["kind"], row["name"], "", "purged" if work.purge else "retired",
                                        label_of(raw, row["name"]), kind_label(step) if step else words(row["kind"], row["kind"])))


def decide_customisations(conn: Connection, work: PackWork, owners: dict[tuple[str, str], str],
                          coming: dict[tuple[str, str], Any], plan: PackPlan) -> None:
    """The plant's changes to other packs' definitions that an exported configuration carries
    (``customisations`` in its manifest): each is merged three ways like an upgrade — base = what the
    owning pack shipped, plant = this server's live definition, new = the exported one. ``coming``:
    (kind, name) -> shipped definition of the packs this plan installs first."""
    listed = work.bundle.manifest.get("customisations") or {}
    for kind, files in listed.items() if isinstance(listed, dict) else []:
        step = _step(work.bundle.plugins, kind)
        for file in files if isinstance(files, list) else []:
            raw = _read(work.bundle.root, file, plan)
            item = name_of(step, raw) if step is not None and raw is not None else None
            if step is None or item is None or not isinstance(raw, dict) or (kind == "forms" and raw.get("format") != "mom.form/1"):
                if raw is not None:
                    plan.reasons.append(words(
                        f"{file} 不是一个{kind_label(step)['zh-CN'] if step else kind}定义（应有 format 和 name）：请检查导出的文件，或从 pack.json 的 customisations 里删掉",
                        f"{file} is not a {kind_label(step)['en'] if step else kind} definition (format and name expected): check the "
                        "exported file, or remove it from customisations in pack.json"))
                continue
            d = ItemDecision(work.name, kind, item, file, "changed", label_of(raw, item), kind_label(step), final=raw,
                             shipped=raw, overlay=True)
            owner = owners.get((kind, item))
            if owner is None and (kind, item) in coming:
                base = live = coming[(kind, item)]
            elif owner is None or owner == work.name:
                plan.reasons.append(words(
                    f"{file} 定制的是{d.kind_label['zh-CN']}「{d.label['zh-CN']}」，但本机没有哪个模型包安装了它：请先安装它所属的模型包",
                    f"{file} customises {d.kind_label['en']} “{d.label['en']}”, which no installed pack has installed here: "
                    "install the pack it belongs to first"))
                continue
            else:
                base = next((r["base"] for r in state.items_of(conn, owner) if (r["kind"], r["name"]) == (kind, item)), None)
                live_fn = getattr(step, "live", None)
                found = live_fn(conn, item) if live_fn is not None else None
                live = found[0] if found else base
            whose = owner or next((w for w in plan.works if any((x.kind, x.name) == (kind, item) for x in w.items)), None)
            whose_name = whose.name if isinstance(whose, PackWork) else (whose or "")
            d.details = [words(f"这是对模型包 {whose_name} 的修改（不随本包卸载而撤销）",
                               f"a change to pack {whose_name} (not undone when this pack is uninstalled)")]
            if _same(live, raw):
                d.change, d.final = "unchanged", None
            elif _same(live, base):                      # this server has no change of its own: take the exported one
                d.details += list(merging.merge(base, live, raw).taken)
            else:
                result = merging.merge(base, live, raw)
                if result.conflicts:
                    d.change, d.final = "conflict", None
                    for c in result.conflicts:
                        add_conflict(plan, {"pack": work.name, "kind": kind, "kind_label": d.kind_label, "name": item,
                                            "label": d.label, "where": c.where, "plant": c.plant, "pack_value": c.pack,
                                    "base": c.base})
                else:
                    d.change, d.final = "merged", result.merged
                    d.details += [*result.kept, *result.taken]
            if d.final is not None:
                up = getattr(work.source, "origin", "") == "uploaded" and not work.bundle.manifest.get("exported")
                plan.warnings.append(words(
                    f"{'上传的' if up else ''}模型包「{work.label['zh-CN']}」会修改模型包 {whose_name} 的{d.kind_label['zh-CN']}「{d.label['zh-CN']}」"
                    "（见下面的明细）：请确认这是本厂自己的修改",
                    f"{'the uploaded ' if up else ''}pack “{work.label['en']}” changes pack {whose_name}'s {d.kind_label['en']} "
                    f"“{d.label['en']}” (see the details): make sure this is the plant's own change"))
            work.items.append(d)


def _read(root: Any, file: str, plan: PackPlan) -> Any:
    from pathlib import Path

    path = (Path(root) / file).resolve()
    if Path(root).resolve() not in path.parents:
        plan.reasons.append(words(f"{file}：文件不在模型包的文件夹里", f"{file}: the file is outside the pack's folder"))
        return None
    if not path.is_file():
        plan.reasons.append(words(f"清单里列出的文件 {file} 不在模型包里：请补上它，或从 pack.json 里删掉",
                                  f"the listed file {file} is not in the pack: add it, or remove it from pack.json"))
        return None
    from mom.engines.packs.jsonfile import read_json
    from mom.platform.errors import MomError

    try:
        return read_json(path, file)
    except MomError as exc:
        plan.reasons.append(words(exc.zh, exc.en))
        return None

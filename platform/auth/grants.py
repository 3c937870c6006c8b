"""Form permissions in a supervisor's words: the default a new form gets, the two questions the publish
dialog asks (谁可以填写 / 谁可以查看全部记录), and a permission list told back in Chinese and English with
role and department *names* (never keys).

The answers are plain data::

    {"fill": {"everyone": true, "roles": [], "departments": []},   # who may create records (and read/change
                                                                   # their own)
     "see_all": {"roles": ["qc_manager"], "departments": ["QA"]}}  # who may read (and export) every record

Roles by key, departments by code; a department's grant holds for the people of its sub-departments too.

:func:`compose` turns them into ``permissions`` entries of ``mom.form/1``; :func:`describe` reads any
permission list back as sentences. Administrators may always do everything, so they are not listed.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.db import tables as T
from mom.platform.errors import ProblemList

FILL_ACTIONS = ["create", "read", "update"]
SEE_ALL_ACTIONS = ["read", "export"]
# What a new form published without ``permissions`` gets: every signed-in user fills it in and reads and
# changes their own records; administrators (who may design it) see all.
DEFAULT_ANSWERS: dict[str, Any] = {"fill": {"everyone": True, "roles": [], "departments": []},
                                   "see_all": {"roles": [], "departments": []}}

ACTION_WORDS = {"create": ("新建", "create"), "read": ("查看", "read"), "update": ("修改", "update"),
                "delete": ("删除", "delete"), "export": ("导出", "export"), "import": ("导入", "import"),
                "design": ("设计", "design")}
SCOPE_WORDS = {"all": ("全部记录", "all records"), "department": ("本部门的记录", "their department's records"),
               "own": ("本人创建的记录", "records they created"), "expr": ("符合条件的记录", "records matching a condition")}


def default_permissions() -> list[dict[str, Any]]:
    """The permissions a new form gets when its definition names none."""
    return compose(DEFAULT_ANSWERS, known_roles=None)


def department_names(conn: Connection) -> dict[str, str]:
    """Department code -> its name."""
    return {r.code: r.name for r in conn.execute(sa.select(T.department.c.code, T.department.c.name))}


def grantee_text(p: Mapping[str, Any], roles: Mapping[str, Any], departments: Mapping[str, str], lang: str) -> str:
    """Who a permission entry grants, by name: a role's label, or "<部门>（含下级部门）"."""
    if "department" in p and "role" not in p:
        code = str(p.get("department"))
        name = departments.get(code, code)
        return f"{name}（含下级部门）" if lang == "zh-CN" else f"{name} (and its sub-departments)"
    key = str(p.get("role"))
    return role_text(key, roles.get(key), lang)


def role_names(conn: Connection) -> dict[str, Any]:
    """Role key -> its label (``{"zh-CN": …, "en": …}``, a string, or None)."""
    return {r.name: r.label for r in conn.execute(sa.select(T.role.c.name, T.role.c.label))}


def role_text(key: str, label: Any, lang: str) -> str:
    """A role's name in ``lang``: its label, else its key (a role nobody labelled)."""
    if key == "*":
        return "所有登录用户" if lang == "zh-CN" else "everyone signed in"
    if isinstance(label, Mapping):
        return str(label.get(lang) or label.get("zh-CN") or label.get("en") or key)
    return str(label or key)


def _names(value: Any, path: str, known: Mapping[str, Any] | None, problems: ProblemList, what: str) -> list[str]:
    zh, en = ("角色", "role") if what == "role" else ("部门", "department")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(path, f"应为{zh}列表", f"expected a list of {en}s", "type")
        return []
    for i, r in enumerate(value):
        if known is not None and r not in known:
            problems.add(f"{path}/{i}", f"没有这个{zh}：请从{zh}列表中选择", f"there is no such {en}: pick one from the list",
                         "unknown")
    return list(dict.fromkeys(value))


def compose(answers: Any, *, known_roles: Mapping[str, Any] | None,
            known_departments: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """``permissions`` entries from the publish dialog's answers (see the module docstring). Unknown roles
    and departments are refused (422 naming each) when ``known_roles`` / ``known_departments`` are given."""
    problems = ProblemList()
    if not isinstance(answers, Mapping):
        problems.add("", "应为对象：{fill, see_all}", "expected an object: {fill, see_all}", "type")
        problems.raise_if_any("权限设置有误", "invalid permission answers")
    fill = answers.get("fill") if isinstance(answers.get("fill"), Mapping) else {}
    see = answers.get("see_all") if isinstance(answers.get("see_all"), Mapping) else {}
    fill_roles = _names(fill.get("roles"), "/fill/roles", known_roles, problems, "role")
    fill_depts = _names(fill.get("departments"), "/fill/departments", known_departments, problems, "department")
    see_roles = _names(see.get("roles"), "/see_all/roles", known_roles, problems, "role")
    see_depts = _names(see.get("departments"), "/see_all/departments", known_departments, problems, "department")
    everyone = bool(fill.get("everyone", not (fill_roles or fill_depts)))
    problems.raise_if_any("权限设置中有不认识的角色或部门，请重新选择", "unknown role(s) or department(s) in the permission answers")
    out: list[dict[str, Any]] = []
    for r in (["*"] if everyone else fill_roles):
        out.append({"role": r, "actions": list(FILL_ACTIONS), "scope": "own"})
    for d in ([] if everyone else fill_depts):
        out.append({"department": d, "actions": list(FILL_ACTIONS), "scope": "own"})
    for r in see_roles:
        out.append({"role": r, "actions": list(SEE_ALL_ACTIONS), "scope": "all"})
    for d in see_depts:
        out.append({"department": d, "actions": list(SEE_ALL_ACTIONS), "scope": "all"})
    return out


def answers_of(permissions: Any) -> dict[str, Any] | None:
    """The dialog's answers that give exactly ``permissions``, or None when the list says more than the
    two questions can (then the designer shows the full permission editor instead)."""
    if not isinstance(permissions, list):
        return None

    def who(actions: list[str], scope: str, attr: str) -> list[Any]:
        return [p.get(attr) for p in permissions if isinstance(p, Mapping) and p.get("actions") == actions
                and p.get("scope") == scope and not p.get("fields") and attr in p]

    fill = who(FILL_ACTIONS, "own", "role")
    answers = {"fill": {"everyone": "*" in fill, "roles": [r for r in fill if r != "*"],
                        "departments": who(FILL_ACTIONS, "own", "department")},
               "see_all": {"roles": who(SEE_ALL_ACTIONS, "all", "role"),
                           "departments": who(SEE_ALL_ACTIONS, "all", "department")}}
    if "*" in fill and (len(fill) > 1 or answers["fill"]["departments"]):
        return None
    return answers if compose(answers, known_roles=None) == permissions else None


def describe(permissions: Any, roles: Mapping[str, Any], departments: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """One sentence per entry, zh-CN and en, naming roles by their labels and departments by their names,
    e.g. "所有登录用户：可新建、查看、修改本人创建的记录"; the last sentence says administrators may do all."""
    depts = departments or {}
    out: dict[str, list[str]] = {"zh-CN": [], "en": []}
    for p in permissions if isinstance(permissions, list) else []:
        if not isinstance(p, Mapping):
            continue
        who_zh, who_en = grantee_text(p, roles, depts, "zh-CN"), grantee_text(p, roles, depts, "en")
        raw = p.get("actions")
        acts = [a for a in raw if isinstance(a, str) and a in ACTION_WORDS] if isinstance(raw, list) else []
        scope = p.get("scope", "all")
        sw = SCOPE_WORDS["expr"] if isinstance(scope, Mapping) else SCOPE_WORDS.get(str(scope), SCOPE_WORDS["all"])
        record_acts = [a for a in acts if a != "design"]
        zh = "、".join(ACTION_WORDS[a][0] for a in record_acts)
        en = ", ".join(ACTION_WORDS[a][1] for a in record_acts)
        zh_line = f"{who_zh}：可{zh}{sw[0]}" if record_acts else f"{who_zh}："
        en_line = f"{who_en}: may {en} {sw[1]}" if record_acts else f"{who_en}:"
        if "design" in acts:
            zh_line += ("；" if record_acts else "") + "可修改表单设计"
            en_line += ("; " if record_acts else " ") + "may change the form's design"
        hidden = sorted(k for k, v in (p.get("fields") or {}).items() if v == "hidden") if isinstance(p.get("fields"), Mapping) else []
        if hidden:
            zh_line += f"（看不到 {len(hidden)} 个字段）"
            en_line += f" ({len(hidden)} field(s) hidden)"
        out["zh-CN"].append(zh_line)
        out["en"].append(en_line)
    out["zh-CN"].append("管理员：可做所有操作")
    out["en"].append("Administrators: may do everything")
    return out


def with_default(conn: Connection, definition: Any) -> tuple[Any, bool]:
    """``definition`` with the default permissions when it is a new form (never published) that names
    none; ``(definition, True)`` when the default was put in."""
    if not isinstance(definition, dict) or "permissions" in definition or not isinstance(definition.get("name"), str):
        return definition, False
    exists = conn.execute(sa.select(T.form.c.name).where(T.form.c.name == definition["name"])).first()
    if exists is not None:
        # republishing a file that names none: the default it was given stays (a republish is not a change)
        cur = conn.execute(sa.select(T.form_version.c.definition)
                           .where(T.form_version.c.form_name == definition["name"])
                           .order_by(T.form_version.c.version.desc()).limit(1)).scalar()
        if isinstance(cur, dict) and cur.get("permissions") == default_permissions():
            return {**definition, "permissions": default_permissions()}, False
        return definition, False
    return {**definition, "permissions": default_permissions()}, True


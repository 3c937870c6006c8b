"""The timeline in words: each step of a flow and each change of a record as a sentence in both
languages — "张三 提交审批", "进入「质量经理审批」，待 李四 审批", "条件「不合格」成立", "李四 同意：可以放行",
"流程结束：通过", "王五 修改了 批次号" — with people's names and the labels of nodes, conditions, fields
and options, never keys or event codes. The raw fields stay beside the words for programs.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mom.engines.forms.compile import CompiledForm
from mom.engines.workflow import assign
from mom.engines.workflow.runtime import Runtime
from mom.engines.workflow.spec import WorkflowSpec
from mom.engines.workflow.summary import Text, both, id_texts, value_text

SYSTEM = both("系统", "System")
OUTCOMES = {"approved": ("通过", "approved"), "rejected": ("驳回", "rejected"), "withdrawn": ("已撤回", "withdrawn"),
            "cancelled": ("已取消", "cancelled"), "revoked": ("已撤销", "revoked")}
KINDS = {"approval": ("审批", "Approval"), "condition": ("条件分支", "Condition"), "parallel": ("并行分支", "Parallel branches"),
         "cc": ("抄送", "Copy"), "action": ("自动动作", "Automatic action"), "end": ("结束", "End"),
         "subprocess": ("子流程", "Sub-process")}
_DEFAULT_BRANCH = re.compile(r"branch (\d+)")
_ELSE = frozenset({"else", "其他", "otherwise"})
#: data keys whose values are user ids, by event
_USER_KEYS = ("users", "to", "from")


def node_name(spec: WorkflowSpec, node_id: Any) -> Text:
    """A node as people call it: its label, or (no label given: the label is its id) the word for its kind."""
    node = spec.nodes.get(node_id) if node_id is not None else None
    if node is None:
        return both(str(node_id or "?"))
    if node.label.get("zh-CN") == node.id:
        zh, en = KINDS.get(node.type, ("节点", "Step"))
        return both(zh, en)
    return both(node.label["zh-CN"], node.label.get("en") or node.label["zh-CN"])


def user_ids(events: Iterable[Mapping[str, Any]]) -> set[int]:
    """Every user an event names (the actor, and users in its data) — to read their names at once."""
    out: set[int] = set()
    for e in events:
        if e.get("actor_id") is not None:
            out.add(int(e["actor_id"]))
        d = e.get("data") if isinstance(e.get("data"), Mapping) else {}
        if e.get("action") == "migrated":
            continue
        for k in _USER_KEYS:
            v = d.get(k)
            for u in (v if isinstance(v, list) else [v]):
                if isinstance(u, int) and not isinstance(u, bool):
                    out.add(u)
        if isinstance(d.get("proxies"), Mapping):      # 代理人: {user: proxy}
            out |= {int(u) for u in d["proxies"].values() if isinstance(u, int) and not isinstance(u, bool)}
    return out


def _people(ids: Any, names: Mapping[int, str]) -> Text:
    ids = ids if isinstance(ids, list) else [ids]
    shown = [names.get(u, f"#{u}") for u in ids if u is not None]
    return {"zh-CN": "、".join(shown), "en": ", ".join(shown)}


def _approvers(d: Mapping[str, Any], names: Mapping[int, str]) -> Text:
    """The users a node waits for; one whose tasks go to an out-of-office proxy: "王五（代 李四）"."""
    proxies = d.get("proxies") if isinstance(d.get("proxies"), Mapping) else {}
    zh, en = [], []
    for u in d.get("users") or []:
        who = names.get(u, f"#{u}")
        proxy = proxies.get(str(u))
        if proxy is not None:
            zh.append(f"{names.get(proxy, f'#{proxy}')}（代 {who}）")
            en.append(f"{names.get(proxy, f'#{proxy}')} (for {who})")
        else:
            zh.append(who)
            en.append(who)
    return {"zh-CN": "、".join(zh), "en": ", ".join(en)}


def _branch(label: Any) -> Text:
    text = label if isinstance(label, Mapping) else both(str(label or ""))
    zh, en = str(text.get("zh-CN") or text.get("en") or ""), str(text.get("en") or text.get("zh-CN") or "")
    m = _DEFAULT_BRANCH.fullmatch(zh)
    if m:
        return both(f"第 {m.group(1)} 个条件成立", f"Condition {m.group(1)} held")
    if zh in _ELSE:
        return both("以上条件都不成立，按「其他情况」继续", "No condition held: going on as “otherwise”")
    return both(f"条件「{zh}」成立", f"Condition “{en}” held")


def _say(zh: str, en: str, **parts: Text) -> Text:
    """``zh`` and ``en`` with ``{name}`` filled from ``parts`` (each a text in both languages)."""
    return {"zh-CN": zh.format(**{k: v["zh-CN"] for k, v in parts.items()}),
            "en": en.format(**{k: v["en"] for k, v in parts.items()})}


def describe(e: Mapping[str, Any], spec: WorkflowSpec, names: Mapping[int, str]) -> Text:
    """One timeline line of a flow in words (``names``: display names by user id)."""
    a = str(e.get("action") or "")
    d = e["data"] if isinstance(e.get("data"), Mapping) else {}
    who = both(names.get(e["actor_id"], f"#{e['actor_id']}")) if e.get("actor_id") is not None else SYSTEM
    node = node_name(spec, e.get("node_id")) if e.get("node_id") else both(spec.label["zh-CN"], spec.label.get("en"))
    to = _people(d.get("to"), names) if a not in ("migrated",) else both("")
    text = _words(a, d, who, node, to, spec, names)
    comment = e.get("comment")
    if isinstance(comment, str) and comment.strip() and a not in ("auto_pass", "no_approver"):
        text = {"zh-CN": f"{text['zh-CN']}：{comment.strip()}", "en": f"{text['en']}: {comment.strip()}"}
    return text


def _words(a: str, d: Mapping[str, Any], who: Text, node: Text, to: Text, spec: WorkflowSpec,
           names: Mapping[int, str]) -> Text:
    if a == "start":
        trig = d.get("trigger")
        if trig == "condition":
            return both("条件满足，自动提交审批", "Submitted automatically: its start condition held")
        if trig == "rule":
            return both("规则自动提交审批", "Submitted by a rule")
        if trig == "subprocess":
            return both("由上级流程自动发起（子流程）", "Started by its parent flow (a sub-process)")
        if trig == "revoke":
            return _say("{who} 提交撤销申请", "{who} asked to revoke the approved request", who=who)
        return _say("{who} 提交审批", "{who} submitted it for approval", who=who)
    if a == "node_enter":
        if d.get("users"):
            return _say("进入「{node}」，待 {people} 审批", "Reached “{node}”: waiting for {people}",
                        node=node, people=_approvers(d, names))
        return _say("进入「{node}」", "Reached “{node}”", node=node)
    if a == "no_approver" and isinstance(d.get("reason"), Mapping):
        why = d["reason"]
        return _say("「{node}」找不到审批人：{why}", "“{node}” found no approver: {why}", node=node,
                    why=both(str(why.get("zh-CN") or ""), str(why.get("en") or why.get("zh-CN") or "")))
    if a == "subprocess_done":
        zh, en = OUTCOMES.get(str(d.get("outcome")), (str(d.get("outcome")), str(d.get("outcome"))))
        return _say("「{node}」的子流程结束：" + zh, "The sub-process of “{node}” ended: " + en, node=node)
    if a == "branch":
        return _branch(d.get("branch"))
    if a == "return":
        target = d.get("target")
        if target in (None, "initiator"):
            return _say("{who} 退回给发起人", "{who} returned it to the initiator", who=who)
        return _say("{who} 退回到「{target}」", "{who} returned it to “{target}”", who=who, target=node_name(spec, target))
    if a == "delegate_done":
        yes = d.get("answer") == "approve"
        return _say("{who} 回复委派：" + ("同意" if yes else "不同意"), "{who} answered the delegation: " + ("agree" if yes else "disagree"), who=who)
    if a == "add_signer":
        after = d.get("position") == "after"
        return _say("{who} 加签 {to}（" + ("在其之后审批" if after else "在其之前审批") + "）",
                    "{who} added {to} as a signer (" + ("after" if after else "before") + " them)", who=who, to=to)
    if a == "finished":
        zh, en = OUTCOMES.get(str(d.get("outcome")), (str(d.get("outcome")), str(d.get("outcome"))))
        return both(f"流程结束：{zh}", f"Flow ended: {en}")
    if a == "migrated":
        return both(f"流程升级：第 {d.get('from')} 版 → 第 {d.get('to')} 版", f"Moved from version {d.get('from')} to {d.get('to')}")
    if a in ("dedupe_pass", "handover"):
        people = _people(d.get("users") or [], names)
        if a == "dedupe_pass":
            return _say("{people} 前面已审批过，「{node}」自动通过", "{people} already approved earlier: “{node}” passed automatically",
                        people=people, node=node)
        return _say("{whom} 的待办交接给 {to}", "{whom}'s tasks were handed over to {to}", whom=_people(d.get("from"), names), to=to)
    if a in ("cc", "remind"):
        people = _people(d.get("users") or [], names)
        return (_say("抄送 {people}", "Copied to {people}", people=people) if a == "cc"
                else _say("{who} 催办 {people}", "{who} reminded {people}", who=who, people=people))
    if a in _SIMPLE:
        zh, en = _SIMPLE[a]
        return _say(zh, en, who=who, node=node, to=to)
    if a.startswith("timeout_"):
        return _say("「{node}」超时，已按设置处理", "“{node}” was overdue and handled as set", node=node)
    return _say("{who}：「{node}」", "{who}: “{node}”", who=who, node=node)


_SIMPLE = {
    "approve": ("{who} 同意", "{who} approved"),
    "reject": ("{who} 驳回", "{who} rejected"),
    "transfer": ("{who} 转交给 {to}", "{who} handed it over to {to}"),
    "delegate": ("{who} 委派给 {to}", "{who} delegated it to {to}"),
    "comment": ("{who} 评论", "{who} commented"),
    "withdraw": ("{who} 撤回申请", "{who} withdrew the request"),
    "resubmit": ("{who} 重新提交", "{who} submitted it again"),
    "cancel": ("{who} 取消流程", "{who} cancelled the flow"),
    "node_passed": ("「{node}」通过", "“{node}” passed"),
    "node_rejected": ("「{node}」未通过", "“{node}” was rejected"),
    "auto_pass": ("「{node}」没有审批人，自动通过", "“{node}” had no approver: passed automatically"),
    "actions": ("执行「{node}」", "Ran “{node}”"),
    "subprocess": ("「{node}」发起子流程", "“{node}” started its sub-process"),
    "revoke_requested": ("{who} 申请撤销", "{who} asked to revoke it"),
    "revoked": ("审批结果已撤销", "The approval was revoked"),
    "end_node": ("到达「{node}」", "Reached “{node}”"),
    "timeout_remind": ("「{node}」超时，已提醒审批人", "“{node}” was overdue: the approvers were reminded"),
    "timeout_escalate": ("「{node}」超时，已升级给 {to}", "“{node}” was overdue: escalated to {to}"),
    "timeout_auto_approve": ("「{node}」超时，自动同意", "“{node}” was overdue: approved automatically"),
    "timeout_auto_reject": ("「{node}」超时，自动驳回", "“{node}” was overdue: rejected automatically"),
    "timeout_failed": ("「{node}」的超时处理失败，请联系管理员", "The timeout of “{node}” failed: ask an administrator"),
}


# ---------------------------------------------------------------- record changes

_CHANGE = {"create": ("{who} 新建记录", "{who} created the record"), "delete": ("{who} 删除记录", "{who} deleted the record"),
           "restore": ("{who} 恢复记录", "{who} restored the record")}


def change_entries(rt: Runtime, compiled: CompiledForm, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit entries of a record with ``text`` (who did what) and, for updates, ``details``: each changed
    field's label with its old and new value in words."""
    defn = compiled.definition
    ids: dict[str, set[int]] = {}
    for e in entries:
        if e["action"] == "update" and isinstance(e.get("changes"), Mapping):
            for k, v in e["changes"].items():
                f = defn.field(k)
                if f is not None and f.value_type in ("user", "department", "reference") and isinstance(v, list):
                    ids.setdefault(k, set()).update(int(x) for x in v if isinstance(x, int) and not isinstance(x, bool))
    shown = {k: id_texts(rt.conn, rt.forms, defn.field(k), v, rt.ctx.actor) for k, v in ids.items()}
    out = []
    for e in entries:
        who = both(e["actor"]) if e.get("actor_id") is not None else SYSTEM
        details = []
        if e["action"] == "update" and isinstance(e.get("changes"), Mapping):
            for k, v in e["changes"].items():
                details.append(_detail(defn.field(k), v, shown.get(k), rt))
            labels = [x["label"] for x in details]
            text = _say("{who} 修改了 {what}", "{who} changed {what}", who=who,
                        what={"zh-CN": "、".join(x["zh-CN"] for x in labels), "en": ", ".join(x["en"] for x in labels)})
        else:
            zh, en = _CHANGE.get(e["action"], ("{who} 修改记录", "{who} changed the record"))
            text = _say(zh, en, who=who)
        out.append({**e, "text": text, "details": details})
    return out


def _detail(f: Any, v: Any, shown: Mapping[int, Any] | None, rt: Runtime) -> dict[str, Any]:
    if f is None:
        return {"label": both("已停用的字段", "a retired field"), "from": None, "to": None}
    label = both(f.label["zh-CN"], f.label.get("en"))
    if f.is_table and isinstance(v, Mapping):
        return {"label": label, "from": both(f"{v.get('rows_before')} 行", f"{v.get('rows_before')} rows"),
                "to": both(f"{v.get('rows_after')} 行", f"{v.get('rows_after')} rows")}
    old, new = (v[0], v[1]) if isinstance(v, list) and len(v) == 2 else (None, v)
    return {"label": label, "from": value_text(f, old, shown, rt.ctx.tz), "to": value_text(f, new, shown, rt.ctx.tz)}


def names_of(rt: Runtime, events: Iterable[Mapping[str, Any]], more: Iterable[int | None] = ()) -> dict[int, str]:
    """Display names of everyone ``events`` name, and of ``more``."""
    return assign.usernames(rt.conn, [*user_ids(events), *more])

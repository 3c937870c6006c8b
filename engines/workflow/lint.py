"""Warnings about a valid flow that probably does not do what its designer meant, shown in the flow
designer before publishing (publishing is still allowed):

- a branch condition that can never hold: a select field compared to a value that is not one of its
  options (typically the option's label typed by hand: ``判定 == '不合格'`` where the stored value is
  ``b``), a number, date, person or yes/no field compared to text, a multi-select compared as one value;
- a branch without an approver that would finish the flow silently (nothing waits on it, neither in the
  branch nor after it), and a condition without 其他情况 whose records would do the same.

Each warning is a :class:`Problem` whose path points at the branch (``/nodes/0/branches/1/when``) and
whose message names fields and branches by their labels."""
from __future__ import annotations

import ast
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import FieldSpec, text_of
from mom.engines.workflow.spec import node_kinds
from mom.platform.errors import Problem

log = logging.getLogger(__name__)
NUMBER_TYPES = frozenset({"integer", "decimal"})
ID_TYPES = frozenset({"user", "department", "reference"})
DATE_TYPES = frozenset({"date", "datetime"})
_FLIP = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}


def warnings(raw: Mapping[str, Any], form: CompiledForm, *, plugins: pluggy.PluginManager | None = None) -> list[Problem]:
    """The warnings of a workflow definition that passed validation, bound to ``form``."""
    out: list[Problem] = []
    waits = {k for k, h in node_kinds(plugins).items() if h.waits}
    try:
        _walk(list(raw.get("nodes") or []), "/nodes", (), form, waits, out)
    except Exception:   # advice only: a flaw here must never stop a valid flow from being checked or published
        log.exception("flow warnings failed for %s", raw.get("name"))
    return out


def as_dicts(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    return [p.as_dict() for p in problems]


# ---------------------------------------------------------------- branches without an approver

def _walk(nodes: list[Any], path: str, after: tuple[list[Any], ...], form: CompiledForm, waits: set[str],
          out: list[Problem]) -> None:
    """Check the condition nodes of ``nodes``; ``after`` holds the node lists that run once it is done."""
    for i, n in enumerate(nodes):
        if not isinstance(n, Mapping):
            continue
        rest = (nodes[i + 1:], *after)
        p = f"{path}/{i}"
        branches = [b for b in n.get("branches") or [] if isinstance(b, Mapping)]
        if n.get("type") == "condition":
            for j, b in enumerate(branches):
                name = _branch_name(b, j)
                if isinstance(b.get("when"), str):
                    _check_condition(b["when"], name, f"{p}/branches/{j}/when", form, out)
                if not _approves(list(b.get("nodes") or []), rest, waits):
                    out.append(Problem(f"{p}/branches/{j}", f"分支「{name['zh-CN']}」里没有审批人：走这条分支的记录会直接结束流程，不经任何人审批。"
                                       "如果这是有意的，可以忽略这条提醒；否则请在分支里添加审批人",
                                       f"branch \"{name['en']}\" has no approver: records taking it finish the flow without anyone "
                                       "approving. Ignore this if it is meant; otherwise add an approver to the branch", "no_approver"))
            if not any(b.get("else") for b in branches) and not _approves([], rest, waits):
                label = text_of(n.get("label"), "条件分支")
                out.append(Problem(p, f"「{label['zh-CN']}」没有「其他情况」分支：条件都不成立的记录会直接结束流程，不经任何人审批。"
                                   "请添加「其他情况」分支并安排审批人，或确认这是有意的",
                                   f"\"{label['en']}\" has no otherwise branch: records matching no condition finish the flow "
                                   "without anyone approving. Add an otherwise branch with an approver, or make sure this is meant",
                                   "no_approver"))
        for j, b in enumerate(branches):
            _walk(list(b.get("nodes") or []), f"{p}/branches/{j}/nodes", rest, form, waits, out)


def _approves(nodes: list[Any], after: tuple[list[Any], ...], waits: set[str]) -> bool:
    """Whether someone is asked on the way from ``nodes`` to the end of the flow (an end node stops it;
    for a split, every branch must ask someone or lead to a node that does)."""
    for lst in (nodes, *after):
        for n in lst:
            if not isinstance(n, Mapping):
                continue
            t = n.get("type")
            if t in waits:
                return True
            if t == "end":
                return False
            branches = [list(b.get("nodes") or []) for b in n.get("branches") or [] if isinstance(b, Mapping)]
            if branches and all(_approves(b, (), waits) for b in branches):
                return True
    return False


def _branch_name(b: Mapping[str, Any], j: int) -> dict[str, str]:
    if b.get("else"):
        return {"zh-CN": "其他情况", "en": "otherwise"}
    return text_of(b.get("label"), f"条件{j + 1}")


# ---------------------------------------------------------------- conditions that never hold

def _check_condition(src: str, branch: Mapping[str, str], path: str, form: CompiledForm, out: list[Problem]) -> None:
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError:
        return      # validation reports it
    seen: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        for f, value, how in _comparisons(node, form):
            found = _mismatch(f, value, how)
            if found and (f.key, found[0]) not in seen:
                seen.add((f.key, found[0]))
                zh, en = found
                out.append(Problem(path, f"分支「{branch['zh-CN']}」的条件永远不会成立：{zh}",
                                   f"the condition of branch \"{branch['en']}\" can never hold: {en}", "never_true"))


def _const(node: ast.AST) -> tuple[bool, Any]:
    if isinstance(node, ast.Constant):
        return True, node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return True, -node.operand.value if isinstance(node.operand.value, (int, float)) else node.operand.value
    return False, None


def _comparisons(node: ast.AST, form: CompiledForm) -> list[tuple[FieldSpec, Any, str]]:
    """(field, constant, how) for each comparison of a field with a constant in ``node``; ``how`` is
    "eq" (==, !=, <, …), "member" (the constant must be one of the field's values: ``'x' in f``,
    ``contains(f, 'x')``) or "in" (``f in ('a', 'b')``: each constant compared)."""
    def field(n: ast.AST) -> FieldSpec | None:
        return form.definition.field(n.id) if isinstance(n, ast.Name) else None

    out: list[tuple[FieldSpec, Any, str]] = []
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right, op = node.left, node.comparators[0], node.ops[0]
        if isinstance(op, (ast.In, ast.NotIn)):
            f, (ok, v) = field(right), _const(left)
            if f is not None and ok:
                out.append((f, v, "member"))
            f = field(left)
            if f is not None and isinstance(right, (ast.Tuple, ast.List, ast.Set)):
                for el in right.elts:
                    ok, v = _const(el)
                    if ok:
                        out.append((f, v, "eq"))
            return out
        for a, b in ((left, right), (right, left)):
            f, (ok, v) = field(a), _const(b)
            if f is not None and ok:
                out.append((f, v, "eq"))
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "contains"
          and len(node.args) == 2):
        f, (ok, v) = field(node.args[0]), _const(node.args[1])
        if f is not None and ok:
            out.append((f, v, "member" if f.value_type == "multi_select" else "text"))
    return out


def _options_text(f: FieldSpec) -> str:
    return "、".join(text_of(f.option_labels.get(o), o)["zh-CN"] for o in f.options)


def _mismatch(f: FieldSpec, v: Any, how: str) -> tuple[str, str] | None:
    """Why comparing field ``f`` with constant ``v`` never holds (zh, en), or None."""
    name = text_of(f.label, f.key)
    vt = f.value_type
    if v is None or how == "text":
        return None
    if vt in ("select", "multi_select"):
        if vt == "multi_select" and how == "eq" and isinstance(v, str):
            return (f"「{name['zh-CN']}」是多选字段，一条记录可选多个选项，不会等于单个选项：请改用「包含」",
                    f"\"{name['en']}\" is a multiple choice and never equals a single option: use \"contains\" instead")
        if not isinstance(v, str) or v not in f.options:
            by_label = next((o for o in f.options if str(v) in text_of(f.option_labels.get(o), o).values()), None)
            hint = "（它是选项的名称，条件须按选项本身比较）" if by_label else ""
            hint_en = " (it is an option's label; the condition must compare the option itself)" if by_label else ""
            return (f"「{name['zh-CN']}」没有选项「{v}」{hint}，可选的是：{_options_text(f)}。请在条件里从下拉框重新选择",
                    f"\"{name['en']}\" has no option \"{v}\"{hint_en}; its options are {', '.join(f.options)}. Pick the value again from the list")
        return None
    if vt in NUMBER_TYPES and (isinstance(v, str) or isinstance(v, bool)):
        return (f"「{name['zh-CN']}」是数字，却和文字「{v}」比较：请填一个数字",
                f"\"{name['en']}\" is a number compared with the text \"{v}\": enter a number")
    if vt == "boolean" and not isinstance(v, bool):
        return (f"「{name['zh-CN']}」是「是/否」字段，却和「{v}」比较：请选择 是 或 否",
                f"\"{name['en']}\" is a yes/no field compared with \"{v}\": pick yes or no")
    if vt in DATE_TYPES and not isinstance(v, bool):
        return (f"「{name['zh-CN']}」是日期，却和「{v}」比较：请在条件里用日期选择器选一个日期",
                f"\"{name['en']}\" is a date compared with \"{v}\": pick a date with the date picker")
    if vt in ID_TYPES and not (isinstance(v, int) and not isinstance(v, bool)):
        what = {"user": ("人员", "person"), "department": ("部门", "department"), "reference": ("记录", "record")}[vt]
        return (f"「{name['zh-CN']}」保存的是{what[0]}，却和文字「{v}」比较：请在条件里从下拉框选择{what[0]}",
                f"\"{name['en']}\" holds a {what[1]} but is compared with the text \"{v}\": pick the {what[1]} from the list")
    if vt in ("text", "long_text", "barcode", "autonumber") and isinstance(v, (int, float)) and not isinstance(v, bool) and how == "eq":
        return (f"「{name['zh-CN']}」是文字，却和数字 {v} 比较：请把值写成文字",
                f"\"{name['en']}\" is text compared with the number {v}: write the value as text")
    return None

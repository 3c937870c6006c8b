"""Validate a workflow definition (``mom.workflow/1``) and compile it into a frozen ``WorkflowSpec``.

The definition is a node tree like the DingTalk/FlowLong designers draw it: a list of nodes, where a
``condition`` node holds branches of which one is taken and a ``parallel`` node holds branches that
all run and join. Compiling flattens the tree into nodes that each know where to go next
(another node id, ``join:<parallel id>:<branch>``, or ``end``), which is all the runtime needs.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy
from jinja2 import TemplateSyntaxError

from mom.engines.expressions.sandbox import Expression
from mom.engines.expressions.strictness import publishing
from mom.engines.expressions.templates import BoundedEnvironment, TemplateLimit, TemplateLimits, render_bounded
from mom.engines.forms.compile import CompiledForm
from mom.engines.definitions.expressions import expression_at
from mom.engines.definitions.identity import definition_hash
from mom.engines.definitions.jsonschema import load_schema, schema_problems
from mom.engines.forms.model import text_of
from mom.engines.workflow import pluginguard
from mom.engines.workflow.calendar import Calendar
from mom.platform import delivery
from mom.platform import plugins as P
from mom.platform.errors import InvalidInput, ProblemList, did_you_mean

if TYPE_CHECKING:   # the handlers' modules import this one
    from mom.engines.workflow.actions import ActionType
    from mom.engines.workflow.nodes import NodeHandler

FORMAT = "mom.workflow/1"
SCHEMA_PATH = Path(__file__).parent / "schema" / "workflow-1.json"
INITIATOR_NAMES = frozenset({"initiator_id", "initiator_username", "initiator_department_id", "initiator_roles"})
END = "end"
TEMPLATES = BoundedEnvironment(autoescape=False)
TRIAL_LIMITS = TemplateLimits(max_seconds=1.0)


def node_kinds(plugins: pluggy.PluginManager | None = None) -> Mapping[str, NodeHandler]:
    """Node kinds by ``type`` (``mom_workflow_node_kinds``), of the process's plug-in manager or ``plugins``."""
    return _node_kinds(plugins or P.plugin_manager())


def action_types(plugins: pluggy.PluginManager | None = None) -> Mapping[str, ActionType]:
    """Action types by ``type`` (``mom_actions``), of the process's plug-in manager or ``plugins``."""
    return _action_types(plugins or P.plugin_manager())


@lru_cache(maxsize=8)
def _node_kinds(pm: pluggy.PluginManager) -> dict[str, NodeHandler]:
    return P.by_key(pm.hook.mom_workflow_node_kinds(), what=("流程节点类型", "workflow node kind"), key=lambda h: h.kind)


@lru_cache(maxsize=8)
def _action_types(pm: pluggy.PluginManager) -> dict[str, ActionType]:
    return P.by_key(pm.hook.mom_actions(), what=("自动动作类型", "action type"), key=lambda a: a.type)


#: Delivery channels a notify action cannot name: ``webhook`` carries the webhook action's requests.
NOT_NOTIFY_CHANNELS = frozenset({"inbox", "webhook"})


def delivery_channel_keys(plugins: pluggy.PluginManager | None = None) -> list[str]:
    """The keys of the registered delivery channels (``mom_delivery_channels``), sorted: what a notify
    action may name besides ``inbox``."""
    return sorted(delivery.channels(plugins or P.plugin_manager()))


def extend_schema(base: Mapping[str, Any], plugins: pluggy.PluginManager | None = None) -> dict[str, Any]:
    """``base`` (a shipped schema with ``$defs/action`` and maybe ``$defs/node``) also admitting the node
    kinds and action types of plug-ins, with the node/action fields they declare (``properties``), and
    as notify channels ``inbox`` plus the registered delivery channels. Without plug-ins it is ``base`` itself."""
    defs = base["$defs"]
    extra = [(d, h) for d, reg in (("node", node_kinds(plugins)), ("action", action_types(plugins))) if d in defs
             for k, h in reg.items() if k not in defs[d]["properties"]["type"]["enum"] or h.properties]
    channels = None
    if "channels" in defs["action"]["properties"]:
        shipped = defs["action"]["properties"]["channels"]["items"]["enum"]
        keys = set(delivery_channel_keys(plugins)) - NOT_NOTIFY_CHANNELS
        channels = ["inbox", *(k for k in shipped if k in keys), *sorted(keys - set(shipped))]
        if channels == shipped:
            channels = None
    if not extra and channels is None:
        return dict(base)
    out = copy.deepcopy(dict(base))
    for d, h in extra:
        props = out["$defs"][d]["properties"]
        key = h.kind if d == "node" else h.type
        if key not in props["type"]["enum"]:
            props["type"]["enum"].append(key)
        for name, sub in h.properties.items():
            props.setdefault(name, sub)
    if channels is not None:
        out["$defs"]["action"]["properties"]["channels"]["items"]["enum"] = channels
    return out


def workflow_schema(plugins: pluggy.PluginManager | None = None) -> dict[str, Any]:
    """The ``mom.workflow/1`` JSON Schema, with the node kinds and action types of plug-ins."""
    return extended_schema(SCHEMA_PATH, plugins or P.plugin_manager())


@lru_cache(maxsize=16)
def extended_schema(path: Path, pm: pluggy.PluginManager) -> dict[str, Any]:
    """The shipped schema at ``path`` through :func:`extend_schema` with ``pm``'s plug-ins, cached per
    (schema, manager): the workflow and rule schemas."""
    return extend_schema(load_schema(path), pm)


@dataclass(frozen=True)
class Assignee:
    type: str
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    levels: int = 1
    field: str | None = None
    weight: int = 1                # 票签: this entry's users' vote weight
    max: int = 5                   # 发起人自选 (type chosen): at most this many users


@dataclass(frozen=True)
class ActionSpec:
    type: str
    raw: Mapping[str, Any]
    exprs: Mapping[str, Expression] = field(default_factory=dict)     # values / payload / args
    record_id: Expression | None = None
    to: tuple[Assignee, ...] = ()
    handler: ActionType | None = field(default=None, compare=False, repr=False)   # what runs it


@dataclass(frozen=True)
class Branch:
    when: Expression | None
    first: str                     # the branch's first node, or its continuation when it is empty
    label: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeSpec:
    id: str
    type: str
    label: dict[str, str]
    next: str                                   # node id | join:<parallel>:<i> | end
    assignees: tuple[Assignee, ...] = ()
    mode: str = "sequential"
    pass_ratio: float = 1.0
    editable_fields: frozenset[str] = frozenset()
    on_empty: str = "auto_pass"
    self_approval: str | None = None
    timeout: Mapping[str, Any] | None = None
    escalate_to: tuple[Assignee, ...] = ()
    branches: tuple[Branch, ...] = ()
    actions: tuple[ActionSpec, ...] = ()
    outcome: str = "approved"
    parallels: tuple[tuple[str, int], ...] = ()  # enclosing (parallel id, branch index), outermost first
    extra: Mapping[str, Any] = field(default_factory=dict)   # what a plug-in kind compiles for itself
    comment_required: frozenset[str] = frozenset()   # approve | reject | return: a comment is required
    return_to_any: bool = False                      # 退回 may go to any approval node, not only visited ones
    signature: str | None = None                     # required | optional: a handwritten signature
    pass_weight: float | None = None                 # 票签: approved once the approvals' weights reach it
    handler: NodeHandler | None = field(default=None, compare=False, repr=False)   # its kind (nodes.NodeHandler)


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    form: str
    label: dict[str, str]
    version: int
    trigger: str
    when: Expression | None
    self_approval: str
    calendar: Calendar
    first: str
    nodes: Mapping[str, NodeSpec]
    hash: str
    raw: Mapping[str, Any]
    dedupe: bool = False              # 审批人去重: who approved earlier passes later nodes automatically
    revoke_flow: str | None = None    # 撤销: the flow an approved request goes through to be revoked

    def node(self, node_id: str) -> NodeSpec:
        return self.nodes[node_id]

    @property
    def approval_nodes(self) -> list[NodeSpec]:
        """Nodes where people act (approval, and plug-in kinds that wait)."""
        return [n for n in self.nodes.values() if n.handler is not None and n.handler.waits]


def compile_assignees(raw: Any, path: str, form: CompiledForm | None, problems: ProblemList, *,
                      chosen: bool = False) -> tuple[Assignee, ...]:
    """An assignee list (approvers, cc, escalation, notify targets) checked against ``form``; ``chosen``:
    the list may hold 发起人自选 (approval nodes only)."""
    out = []
    for i, a in enumerate(raw or []):
        p, t = f"{path}/{i}", a.get("type")
        if t == "chosen" and not chosen:
            problems.add(f"{p}/type", "发起人自选只能用于审批节点的审批人", "chosen by the initiator is for approval nodes' approvers only",
                         "invalid")
        if t == "user" and not a.get("users"):
            problems.add(f"{p}/users", "按人员指定需要 users（用户名列表）", "type user needs users (usernames)", "required")
        if t == "role" and not a.get("roles"):
            problems.add(f"{p}/roles", "按角色指定需要 roles（角色名列表）", "type role needs roles (role names)", "required")
        if t == "field":
            key = a.get("field")
            if not key:
                problems.add(f"{p}/field", "按字段指定需要 field（用户或部门字段）", "type field needs field (a user or department field)", "required")
            elif form is not None:
                f = form.definition.field(key)
                if f is None:
                    keys = {x.key for x in form.definition.scalar_fields}
                    problems.add(f"{p}/field", f"表单 {form.name} 没有字段 {key}{did_you_mean(key, keys)}",
                                 f"form {form.name} has no field {key}{did_you_mean(key, keys)}", "unknown_field")
                elif f.type not in ("user", "department"):
                    problems.add(f"{p}/field", f"字段 {key} 是 {f.type}；审批人字段须为 user 或 department 类型",
                                 f"field {key} is a {f.type}; an assignee field must be of type user or department", "type")
        out.append(Assignee(type=t, users=tuple(a.get("users", ())), roles=tuple(a.get("roles", ())),
                            levels=int(a.get("levels", 1)), field=a.get("field"), weight=int(a.get("weight", 1)),
                            max=int(a.get("max", 5))))
    return tuple(out)


def _template(src: Any, path: str, problems: ProblemList) -> None:
    if isinstance(src, str):
        try:
            tpl = TEMPLATES.from_string(src)
        except TemplateSyntaxError as exc:
            problems.add(path, f"模板语法错误（第 {exc.lineno} 行）：{exc.message}",
                         f"template syntax error (line {exc.lineno}): {exc.message}", "template")
            return
        except (SyntaxError, RecursionError, MemoryError):
            problems.add(path, "模板嵌套过深", "the template is nested too deeply", "template")
            return
        if not publishing():   # a stored flow loads as it was published (see expressions/strictness.py)
            return
        try:   # a trial render without data: a template past a limit even so can never be sent
            render_bounded(tpl, {}, TRIAL_LIMITS)
        except TemplateLimit as exc:
            line = f"（第 {exc.line} 行）" if exc.line else ""
            problems.add(path, f"模板{line}：{exc.zh}", f"template{f' (line {exc.line})' if exc.line else ''}: {exc.en}",
                         "template_limit")
        except Exception:  # noqa: BLE001 - without data a template may fail; only limits count here
            pass


def _plugin_check(obj: Any, what_zh: str, what_en: str, path: str, problems: ProblemList, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` (a node kind's compile, an action type's check); a plug-in's raising something
    other than a product error is a problem at ``path`` naming it (the core's stays a bug); ``_FAILED`` then."""
    def report(err: pluginguard.PluginStepFailed) -> Any:
        problems.add(path, err.zh, err.en, "plugin_failed")
        return _FAILED
    return pluginguard.call(obj, lambda: (f"{what_zh} 的检查", f"the check of {what_en}"), fn, *args, on_fail=report)


_FAILED = object()


def compile_actions(raw: Any, path: str, names: frozenset[str] | None, form: CompiledForm | None,
                    problems: ProblemList, *, plugins: pluggy.PluginManager | None = None) -> tuple[ActionSpec, ...]:
    """Actions shared by workflow ``action`` nodes and event rules; each type's own check is its
    ``ActionType`` (``mom_actions``)."""
    out = []
    types = action_types(plugins)
    for i, a in enumerate(raw or []):
        p, t = f"{path}/{i}", a.get("type")
        handler = types.get(t)
        if handler is None:
            problems.add(f"{p}/type", f"未知的动作类型 {t}{did_you_mean(str(t), set(types))}",
                         f"unknown action type {t}{did_you_mean(str(t), set(types))}", "enum")
        for need in handler.needs if handler is not None else ():
            if need not in a:
                problems.add(f"{p}/{need}", f"动作 {t} 需要 {need}", f"action {t} needs {need}", "required")
        exprs: dict[str, Expression] = {}
        for group in ("values", "payload", "args"):
            for k, src in (a.get(group) or {}).items():
                e = expression_at(src, names, f"{p}/{group}/{k}", problems)
                if e is not None:
                    exprs[f"{group}.{k}"] = e
        if handler is not None:
            _plugin_check(handler, f"动作 {t}", f"action {t}", p, problems, handler.check, a, p, form, problems)
        for tpl in ("title", "body"):
            _template(a.get(tpl), f"{p}/{tpl}", problems)
        out.append(ActionSpec(type=t, raw=a, exprs=exprs, record_id=expression_at(a.get("record_id"), names, f"{p}/record_id", problems),
                              to=compile_assignees(a.get("to"), f"{p}/to", form, problems), handler=handler))
    return tuple(out)


class NodeCompiler:
    """Flattens the node tree of a definition into ``NodeSpec`` objects; each node's own fields are
    compiled by its kind's handler (``NodeHandler.compile``), which may call back :meth:`walk` and
    :meth:`conditions` for the branches it holds."""

    def __init__(self, names: frozenset[str] | None, form: CompiledForm | None, problems: ProblemList,
                 plugins: pluggy.PluginManager | None = None) -> None:
        self.names, self.form, self.problems, self.plugins = names, form, problems, plugins
        self.kinds = node_kinds(plugins)
        self.nodes: dict[str, NodeSpec] = {}
        self.paths: dict[str, str] = {}

    def walk(self, raw: list[Any], path: str, after: str, parallels: tuple[tuple[str, int], ...]) -> str:
        """Compile a node list; returns the id of its first node (or ``after`` if it is empty)."""
        ids = [n.get("id") if isinstance(n, Mapping) else None for n in raw]
        for i, n in enumerate(raw):
            self.node(n, f"{path}/{i}", ids[i + 1] if i + 1 < len(ids) and ids[i + 1] else after, parallels)
        return ids[0] if raw and ids[0] else after

    def node(self, n: Mapping[str, Any], path: str, nxt: str, parallels: tuple[tuple[str, int], ...]) -> None:
        """Compile one node that continues at ``nxt``."""
        nid, t, problems = n.get("id"), n.get("type"), self.problems
        if nid in self.nodes or nid == END:
            problems.add(f"{path}/id", f"节点 id {nid} 重复（首次出现在 {self.paths.get(nid, '')}）",
                         f"node id {nid} is used twice (first at {self.paths.get(nid, '')})", "duplicate")
            return
        self.paths[nid] = path
        handler = self.kinds.get(t)
        if handler is None:   # the schema admits registered kinds only; a stored flow may name a removed plug-in's
            problems.add(f"{path}/type", f"未知的节点类型 {t}{did_you_mean(str(t), set(self.kinds))}",
                         f"unknown node kind {t}{did_you_mean(str(t), set(self.kinds))}", "enum")
            return
        kw = _plugin_check(handler, f"节点类型 {t}", f"node kind {t}", path, problems, handler.compile, self, n, path, nxt, parallels)
        if kw is _FAILED:
            return
        kw = dict(kw)
        kw.setdefault("next", nxt)
        self.nodes[nid] = NodeSpec(id=nid, type=t, label=text_of(n.get("label"), nid), parallels=parallels, handler=handler,
                                   **kw)

    def conditions(self, raw: list[Any], path: str, nxt: str, parallels: tuple[tuple[str, int], ...]) -> tuple[Branch, ...]:
        """Branches of which the first whose ``when`` holds is taken (an ``otherwise`` one is added)."""
        out, has_else = [], False
        for i, b in enumerate(raw):
            p = f"{path}/branches/{i}"
            if b.get("else"):
                if "when" in b:
                    self.problems.add(p, "分支不能同时有 when 和 else", "a branch has either when or else, not both", "conflict")
                if i != len(raw) - 1:
                    self.problems.add(f"{p}/else", "else 分支必须放在最后", "the else branch must come last", "order")
                has_else = True
            elif "when" not in b:
                self.problems.add(f"{p}/when", "条件分支需要 when（条件表达式）或 else: true", "a branch needs when (an expression) or else: true", "required")
            out.append(Branch(when=expression_at(b.get("when"), self.names, f"{p}/when", self.problems),
                              label=text_of(b.get("label"), "else" if b.get("else") else f"branch {i + 1}"),
                              first=self.walk(b.get("nodes") or [], f"{p}/nodes", nxt, parallels)))
        if not has_else:  # no branch matched: the flow goes on after the condition node
            out.append(Branch(when=None, first=nxt, label={"zh-CN": "其他", "en": "otherwise"}))
        return tuple(out)


def validate_workflow(raw: Any, *, form: CompiledForm | None = None, version: int = 0,
                      plugins: pluggy.PluginManager | None = None) -> WorkflowSpec:
    """Check everything and compile; raise ``InvalidInput`` listing every problem with its JSON pointer.
    Node kinds and action types are those of ``plugins`` (default: the process's plug-in manager)."""
    problems = ProblemList()
    if not isinstance(raw, Mapping):
        raise InvalidInput("流程定义必须是 JSON 对象", "a workflow definition must be a JSON object")
    schema_problems(raw, workflow_schema(plugins), problems)
    if problems:
        problems.raise_if_any("流程定义有误", "the workflow definition is invalid")
    if form is not None and raw["form"] != form.name:
        problems.add("/form", f"流程绑定表单 {raw['form']}，但给出的是 {form.name}", f"the flow is bound to {raw['form']}, not {form.name}")
    names = INITIATOR_NAMES | (frozenset(f.key for f in form.definition.scalar_fields) if form is not None else frozenset())
    trigger = raw.get("trigger") or {"on": "submit"}
    when = None
    if trigger["on"] == "condition":
        if "when" not in trigger:
            problems.add("/trigger/when", "按条件发起需要 when（表达式）", "a condition trigger needs when (an expression)", "required")
        when = expression_at(trigger.get("when"), (names - INITIATOR_NAMES) if form is not None else None, "/trigger/when", problems)
    elif "when" in trigger:     # 提交审批 only while the record satisfies it (e.g. status == 'open')
        when = expression_at(trigger.get("when"), (names - INITIATOR_NAMES) if form is not None else None, "/trigger/when", problems)
    # without the form, expressions are checked for syntax only
    flat = NodeCompiler(names if form is not None else None, form, problems, plugins)
    first = flat.walk(list(raw["nodes"]), "/nodes", END, ())
    if not any(n.handler is not None and n.handler.waits for n in flat.nodes.values()) and not problems:
        problems.add("/nodes", "流程至少需要一个审批节点", "a flow needs at least one approval node", "required")
    problems.raise_if_any(f"流程定义有 {len(problems.items)} 处错误", f"the workflow definition has {len(problems.items)} problem(s)")
    return WorkflowSpec(name=raw["name"], form=raw["form"], label=text_of(raw.get("label"), raw["name"]), version=version,
                        trigger=trigger["on"], when=when, self_approval=raw.get("self_approval", "require"),
                        calendar=Calendar.from_raw(raw.get("calendar")), first=first, nodes=flat.nodes,
                        hash=definition_hash(raw), raw=raw, dedupe=bool(raw.get("dedupe_approvers", False)),
                        revoke_flow=raw.get("revoke_flow"))

"""A device mapping (设备数据映射, form ``device_mapping``) as the ingestion engine uses it.

A mapping is data: a topic pattern with MQTT wildcards (``+`` one level, ``#`` the rest), a payload
format (``json`` or ``sparkplug_b``: the decoder's dict), a fixed machine or an expression giving the
machine's code, and expressions in the one sandbox (:mod:`mom.engines.expressions`) for the state, the
cumulative total / good / scrap counters, the timestamp, the message id, and one row per process value
(tag, expression, unit, low/high limit, deadband, on-alarm action).

Expressions read three names: ``payload`` (the decoded message), ``topic`` (text) and ``segments`` (the
topic's levels, ``segments[0]`` first). The common shapes ``payload["a"]["b"]`` and ``segments[2]`` are
read directly (same result as the sandbox, a fraction of its cost at thousands of messages a second);
anything else is evaluated by the sandbox. A value the message does not carry is ``None``.

:func:`check` is what a save runs: every problem at once, each naming the row and field in zh and en.
"""
from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from mom.engines.devices import vibration as V
from mom.engines.expressions.sandbox import ExpressionError, compile_expression
from mom.platform.errors import InvalidInput, Problem

NAMES = frozenset({"payload", "topic", "segments"})
STATES = ("running", "idle", "down", "setup", "planned_stop")
EXPRESSIONS = {"machine_expr": ("设备编号表达式", "machine code expression"), "state_expr": ("状态表达式", "state expression"),
               "total_expr": ("总计数表达式", "total counter expression"), "good_expr": ("良品计数表达式", "good counter expression"),
               "scrap_expr": ("废品计数表达式", "scrap counter expression"),
               "timestamp_expr": ("时间戳表达式", "timestamp expression"), "message_id_expr": ("消息号表达式", "message id expression"),
               "waveform_expr": ("波形表达式", "waveform expression"), "sample_rate_expr": ("采样率表达式", "sample rate expression")}
ACTIONS = ("none", "notify", "repair_order")
MAX_STEP, MAX_AGE_DAYS = 100_000, 31     # 单条消息计数增量上限 / 报文时间最多早于现在的天数 when a mapping leaves them empty
_MISSING = (KeyError, IndexError, TypeError)

Getter = Callable[[Mapping[str, Any]], Any]


def _direct(tree: ast.AST) -> Getter | None:
    """``name[c1][c2]…`` with constant subscripts: a plain getter (None when a level is absent)."""
    keys: list[Any] = []
    node = tree
    while isinstance(node, ast.Subscript):
        if not isinstance(node.slice, ast.Constant) or not isinstance(node.slice.value, (str, int)):
            return None
        keys.append(node.slice.value)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in NAMES:
        return None
    keys.reverse()
    root = node.id

    def get(names: Mapping[str, Any]) -> Any:
        v = names.get(root)
        try:
            for k in keys:
                v = v[k]
        except _MISSING:
            return None
        return v
    return get


@dataclasses.dataclass(frozen=True)
class Expr:
    source: str
    run: Getter

    def __call__(self, names: Mapping[str, Any]) -> Any:
        return self.run(names)


def compile_expr(source: str) -> Expr:
    """Parse ``source`` (ExpressionError when it is wrong)."""
    e = compile_expression(source, known_names=NAMES)
    direct = _direct(e.tree.body)  # type: ignore[attr-defined]
    if direct is not None:
        return Expr(e.source, direct)

    def run(names: Mapping[str, Any]) -> Any:
        try:
            return e.evaluate(names)
        except ExpressionError:
            return None
    return Expr(e.source, run)


def topic_problem(pattern: str) -> tuple[str, str] | None:
    if not pattern or len(pattern) > 200:
        return "请填写主题（最多 200 个字符）", "fill in the topic (at most 200 characters)"
    levels = pattern.split("/")
    for i, lv in enumerate(levels):
        if "#" in lv and (lv != "#" or i != len(levels) - 1):
            return "# 只能单独作为最后一级，如 plant/#", "# must be the whole last level, e.g. plant/#"
        if "+" in lv and lv != "+":
            return "+ 必须单独占一级，如 plant/+/data", "+ must be a whole level, e.g. plant/+/data"
    return None


def topic_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for lv in pattern.split("/"):
        parts.append("[^/]*" if lv == "+" else ".*" if lv == "#" else re.escape(lv))
    rx = "/".join(parts)
    if pattern.endswith("/#"):             # a/# also matches a itself (MQTT)
        rx = rx[: -len("/.*")] + "(?:/.*)?"
    return re.compile(rx + r"\Z")


@dataclasses.dataclass(frozen=True)
class TagSpec:
    tag: str
    expr: Expr
    unit: str | None
    low: Decimal | None
    high: Decimal | None
    deadband: Decimal
    action: str


@dataclasses.dataclass(frozen=True)
class MappingSpec:
    id: int
    code: str
    priority: int
    pattern: str
    regex: re.Pattern[str]
    format: str
    machine_id: int | None
    exprs: Mapping[str, Expr]
    counter_max: Decimal | None
    tags: tuple[TagSpec, ...]
    max_count_step: Decimal = Decimal(MAX_STEP)
    max_age_days: int = MAX_AGE_DAYS
    wave: V.WaveSpec | None = None

    def value(self, key: str, names: Mapping[str, Any]) -> Any:
        e = self.exprs.get(key)
        return e.run(names) if e is not None else None


def _dec(v: Any) -> Decimal | None:
    return None if v is None or v == "" else Decimal(str(v))


def _words(exc: ExpressionError, source: str) -> tuple[str, str]:
    """The sandbox's message for a mapping's expression, without Python's English inside the Chinese text and
    naming the function a call reaches for."""
    zh, en = exc.zh, exc.en
    if zh.startswith("语法错误"):
        head = zh.split("：", 1)[0]
        zh = f"{head}：写法不对，请检查括号、引号是否成对，如 payload[\"temp\"]"
    elif "?" in zh and "未知函数" in zh:
        try:
            calls = [n for n in ast.walk(ast.parse(source, mode="eval")) if isinstance(n, ast.Call)
                     and not isinstance(n.func, ast.Name)]
        except SyntaxError:
            calls = []
        what = ast.unparse(calls[-1].func)[:80] if calls else source[:80]
        zh = f"不能调用「{what}」：表达式只能用内置函数（如 int、round、float）"
        en = f"{what} cannot be called: expressions use the built-in functions only (int, round, float …)"
    return zh, en


def check(row: Mapping[str, Any], tags: list[Mapping[str, Any]] | None, *, prefix: str = "") -> list[Problem]:
    """Every problem of a mapping (``row``: its fields; ``tags``: its 工艺参数 rows), in words naming the field."""
    out: list[Problem] = []
    bad = topic_problem(str(row.get("topic_pattern") or ""))
    if bad:
        out.append(Problem(f"{prefix}/topic_pattern", f"主题：{bad[0]}", f"topic: {bad[1]}"))
    for key, (zh, en) in EXPRESSIONS.items():
        src = row.get(key)
        if src:
            try:
                compile_expr(str(src))
            except ExpressionError as exc:
                ezh, een = _words(exc, str(src))
                out.append(Problem(f"{prefix}/{key}", f"{zh}：{ezh}", f"{en}: {een}"))
    if row.get("machine") is None and not row.get("machine_expr"):
        out.append(Problem(f"{prefix}/machine_expr", "请选择固定设备，或填写设备编号表达式（如 segments[2]）",
                           "choose a fixed machine or fill in the machine code expression (e.g. segments[2])", "required"))
    if not any(row.get(k) for k in ("state_expr", "total_expr", "good_expr", "scrap_expr", "waveform_expr")) and not tags:
        out.append(Problem(f"{prefix}/state_expr", "映射至少要取一项：状态、计数、工艺参数或波形",
                           "a mapping reads at least one of: state, counters, process values or a waveform", "required"))
    out += _wave_problems(row, prefix)
    seen: set[str] = set()
    for i, t in enumerate(tags or []):
        at, n = f"{prefix}/tags/{i}", i + 1
        tag = str(t.get("tag") or "")
        if tag in seen:
            out.append(Problem(f"{at}/tag", f"工艺参数第 {n} 行：参数「{tag}」重复", f"process value row {n}: tag {tag} twice", "duplicate"))
        seen.add(tag)
        try:
            compile_expr(str(t.get("expression") or ""))
        except ExpressionError as exc:
            ezh, een = _words(exc, str(t.get("expression") or ""))
            out.append(Problem(f"{at}/expression", f"工艺参数第 {n} 行「{tag}」的表达式：{ezh}",
                               f"process value row {n} ({tag}) expression: {een}"))
        lo, hi = _dec(t.get("low_limit")), _dec(t.get("high_limit"))
        if lo is not None and hi is not None and lo >= hi:
            out.append(Problem(f"{at}/high_limit", f"工艺参数第 {n} 行「{tag}」：上限必须大于下限",
                               f"process value row {n} ({tag}): the high limit must be above the low limit"))
        db = _dec(t.get("deadband"))
        if db is not None and db < 0:
            out.append(Problem(f"{at}/deadband", f"工艺参数第 {n} 行「{tag}」：恢复死区不能为负数",
                               f"process value row {n} ({tag}): the deadband cannot be negative"))
    cmax = _dec(row.get("counter_max"))
    if cmax is not None and cmax <= 0:
        out.append(Problem(f"{prefix}/counter_max", "计数器上限必须大于 0", "the counter rollover must be above 0"))
    return out


def raise_problems(problems: list[Problem], code: str | None) -> None:
    if problems:
        name = f" {code}" if code else ""
        raise InvalidInput(f"设备数据映射{name} 有 {len(problems)} 处错误：{problems[0].zh}",
                           f"device mapping{name} has {len(problems)} problem(s): {problems[0].en}", problems=problems)


def build(row: Mapping[str, Any], tags: list[Mapping[str, Any]]) -> MappingSpec:
    """A saved (checked) mapping as the engine runs it."""
    exprs = {k: compile_expr(str(row[k])) for k in EXPRESSIONS if row.get(k)}
    specs = tuple(TagSpec(str(t["tag"]), compile_expr(str(t["expression"])), t.get("unit"), _dec(t.get("low_limit")),
                          _dec(t.get("high_limit")), _dec(t.get("deadband")) or Decimal(0),
                          str(t.get("on_alarm") or "notify")) for t in tags)
    wave = None
    if row.get("waveform_expr"):
        wave = V.WaveSpec(str(row.get("waveform_tag") or "vib"), exprs["waveform_expr"], exprs["sample_rate_expr"],
                          row.get("waveform_unit"), V.parse_bands(row.get("bands")), row.get("iso_class") or None,
                          str(row.get("waveform_alarm") or "notify"))
    return MappingSpec(id=int(row["id"]), code=str(row.get("code") or row["id"]), priority=int(row.get("priority") or 0),
                       pattern=str(row["topic_pattern"]), regex=topic_regex(str(row["topic_pattern"])),
                       format=str(row.get("format") or "json"),
                       machine_id=int(row["machine"]) if row.get("machine") is not None else None, exprs=exprs,
                       counter_max=_dec(row.get("counter_max")), tags=specs,
                       max_count_step=Decimal(int(row.get("max_count_step") or MAX_STEP)),
                       max_age_days=max(1, min(int(row.get("max_age_days") or MAX_AGE_DAYS), 3660)), wave=wave)


def _wave_problems(row: Mapping[str, Any], prefix: str) -> list[Problem]:
    """A waveform needs its sample rate; the feature name, bands and ISO class are checked."""
    out: list[Problem] = []
    if not row.get("waveform_expr"):
        return out
    if not row.get("sample_rate_expr"):
        out.append(Problem(f"{prefix}/sample_rate_expr", "有波形表达式时请填写采样率表达式（Hz），如 payload[\"fs\"] 或 25600",
                           "a waveform needs the sample rate expression (Hz), e.g. payload[\"fs\"] or 25600", "required"))
    tag = str(row.get("waveform_tag") or "vib")
    if not V.TAG.match(tag):
        out.append(Problem(f"{prefix}/waveform_tag", "振动特征名只能用字母、数字和下划线，以字母开头，最多 40 个字符，如 vib",
                           "the feature name uses letters, digits and _ (a letter first, at most 40), e.g. vib"))
    try:
        V.parse_bands(row.get("bands"))
    except ValueError as exc:
        zh, _, en = str(exc).partition(" / ")
        out.append(Problem(f"{prefix}/bands", f"频带：{zh}", f"bands: {en or zh}"))
    if row.get("iso_class") and row["iso_class"] not in V.ISO_10816:
        out.append(Problem(f"{prefix}/iso_class", "ISO 10816 机器类别只能是 I、II、III、IV", "the ISO 10816 class is I, II, III or IV"))
    return out

"""Device mappings without a database: MQTT topic wildcards, the direct reading of payload["a"]["b"] agreeing
with the sandbox, counter deltas (base, rollover, reset), message ids and timestamps."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mom.engines.devices import readings as I
from mom.engines.devices import mapping as M
from mom.engines.expressions.sandbox import compile_expression

UTC = dt.timezone.utc


@pytest.mark.parametrize(("pattern", "topic", "match"), [
    ("plant/+/+/data", "plant/hall1/CNC-1/data", True),
    ("plant/+/+/data", "plant/hall1/CNC-1/state", False),
    ("plant/+/data", "plant/a/b/data", False),        # + is exactly one level
    ("plant/#", "plant", True),                       # MQTT: a/# also matches a
    ("plant/#", "plant/a/b/c", True),
    ("plant/#", "plantx/a", False),
    ("spBv1.0/g1/+/edge/#", "spBv1.0/g1/DDATA/edge/m1", True),
    ("a.b/c", "aXb/c", False),                        # a dot is a dot, not a regex
])
def test_topic_patterns_follow_mqtt_wildcards(pattern: str, topic: str, match: bool) -> None:
    assert M.topic_problem(pattern) is None
    assert bool(M.topic_regex(pattern).match(topic)) is match


@pytest.mark.parametrize("pattern", ["plant/#/x", "plant/a+/b", "plant/#x", ""])
def test_bad_topic_patterns_are_named(pattern: str) -> None:
    assert M.topic_problem(pattern) is not None


@pytest.mark.parametrize("source", ['payload["a"]["b"]', "segments[2]", 'payload["missing"]', 'payload["a"]["b"] * 2',
                                   'concat(segments[1], "-", payload["a"]["b"])'])
def test_direct_reading_agrees_with_the_sandbox(source: str) -> None:
    names = {"payload": {"a": {"b": 7}}, "topic": "plant/h1/m1", "segments": ["plant", "h1", "m1"]}
    fast = M.compile_expr(source)(names)
    try:
        slow = compile_expression(source).evaluate(names)
    except Exception:
        slow = None
    assert fast == slow


def test_the_sandbox_still_guards_mapping_expressions() -> None:
    with pytest.raises(Exception):
        M.compile_expr("payload.__class__")
    with pytest.raises(Exception):
        M.compile_expr("unknown_name + 1")


def test_counter_deltas() -> None:
    assert I.delta(Decimal(100), None, None) == 0                  # first value: the base
    assert I.delta(Decimal(105), Decimal(100), None) == 5
    assert I.delta(Decimal(3), Decimal(65534), Decimal(65535)) == 5  # 65535, 0, 1, 2, 3
    assert I.delta(Decimal(4), Decimal(900), None) == 4            # a reset to 0, then 4 parts


def test_message_ids_and_timestamps() -> None:
    assert I.sequence(17, "M") == ("M", 17)
    assert I.sequence("17", "M") == ("M", 17)
    assert I.sequence("bench1.csv:42", "M") == ("M:bench1.csv", 42)
    assert I.sequence("spb:g/e/d:459879242687746", "M") == ("M:spb:g/e/d", 459879242687746)   # the Sparkplug decoder's
    assert I.sequence("abc", "M") == ("M", None)
    fb = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert I.timestamp(1767225600000, fb) == dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert I.timestamp(1767225600, fb) == dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert I.timestamp("2026-01-01T08:00:00+08:00", fb) == dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert I.timestamp("garbage", fb) is fb
    assert I.timestamp(10**20, fb) is fb


def test_mapping_errors_name_the_call_and_stay_chinese() -> None:
    row = {"topic_pattern": "a/+/data", "machine_expr": '__import__("os").system("id")', "state_expr": 'payload["a"'}
    problems = {p.path: p for p in M.check(row, [])}
    assert "不能调用「__import__('os').system」" in problems["/machine_expr"].zh
    assert "was never closed" not in problems["/state_expr"].zh and "括号、引号是否成对" in problems["/state_expr"].zh
    with pytest.raises(Exception) as err:
        M.raise_problems(list(problems.values()), "SIM")
    assert str(getattr(err.value, "zh", "")).startswith("设备数据映射 SIM 有 2 处错误")


def test_status_shows_hours_and_minutes_and_the_simulator_mapping_follows_its_prefix() -> None:
    from mom.platform.cli.devices_cmds import _ago, sim_mapping

    assert _ago(30080.7) == "8 小时 21 分钟前 / 8 h 21 min ago"
    assert _ago(42) == "42 秒前 / 42 s ago"
    m = sim_mapping("factory/hall2/sim")
    assert m["topic_pattern"] == "factory/hall2/sim/+/data" and m["machine_expr"] == "segments[3]"
    assert M.topic_regex(m["topic_pattern"]).match("factory/hall2/sim/SIM-001/data")
    assert sim_mapping("mom/sim")["topic_pattern"] == "mom/sim/+/data"

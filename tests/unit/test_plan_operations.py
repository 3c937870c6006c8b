"""Plan operations as objects: every kind is registered through ``mom_plan_operations``, says its line
in both languages and knows its inverse (a rename's inverse renames back; dropping what was created
restores the schema only)."""
from __future__ import annotations

from mom.engines.forms import operations as O

DETAIL = {"from": "a", "to": "b", "name": "ix_t", "column": "c", "old_field": {"type": "text"}, "backfill": {"value": 1}}
# the kind an operation's inverse has
INVERSE = {"create_table": "drop_table", "drop_table": "create_table", "add_column": "drop_column",
           "drop_column": "add_column", "create_index": "drop_index", "drop_index": "create_index",
           "backfill": "update_metadata", "convert_column": "convert_column", "update_metadata": "update_metadata",
           "move_field": "move_field", "require_field": "require_field"}


def test_every_core_kind_is_registered_through_the_hook() -> None:
    assert set(O.registry()) == {cls.kind for cls in O.BUILTIN}
    assert len(O.BUILTIN) == len(O.registry())


def test_each_operation_describes_itself_and_knows_its_inverse() -> None:
    for kind in O.registry():
        op = O.make(kind, "甲", "a", O.SAFE, "t", "f1", dict(DETAIL))
        assert (op.describe("zh-CN"), op.describe("en")) == ("甲", "a")
        assert op.as_dict()["kind"] == kind and op.as_dict()["message"] == {"zh-CN": "甲", "en": "a"}
        back = op.reverse()
        assert back.kind == INVERSE.get(kind, kind.replace("retire", "rename").replace("restore", "rename")), kind
        assert back.reverse().kind in (kind, kind.replace("retire", "rename").replace("restore", "rename"),
                                       "update_metadata")


def test_renames_reverse_exactly() -> None:
    col = O.make("retire_column", "停用", "retire", O.SAFE, "part", "p3", {"from": "grade", "to": "_r_p3"})
    back = col.reverse()
    assert (back.table, back.detail["from"], back.detail["to"]) == ("part", "_r_p3", "grade")
    table = O.make("rename_table", "改名", "rename", O.SAFE, "part__a", "t1", {"to": "part__b"})
    assert (table.reverse().table, table.reverse().detail["to"]) == ("part__b", "part__a")


def test_a_type_change_reverses_to_the_old_field() -> None:
    op = O.make("convert_column", "改类型", "retype", O.DATA, "part", "p2",
                {"column": "weight", "from": "text(255)", "to": "integer", "old_field": {"id": "p2", "type": "text"}},
                field_raw={"id": "p2", "type": "integer"})
    back = op.reverse()
    assert back.detail == {"column": "weight", "from": "integer", "to": "text(255)", "old_field": {"id": "p2", "type": "integer"}}
    assert back.reverse().detail == op.detail


def test_reverse_all_runs_last_step_first() -> None:
    ops = [O.make("create_table", "建", "create", O.SAFE, "t"), O.make("create_index", "索引", "index", O.SAFE, "t", None, {"name": "ix"})]
    assert [o.kind for o in O.reverse_all(ops)] == ["drop_index", "drop_table"]

"""Who may see a workflow instance (and so learn that it, or one of its tasks, exists).

The administrator, the initiator, anyone ever given one of its tasks, and whoever may read its
record. Everyone else is answered exactly as for an id that does not exist (404), so instance and
task ids reveal nothing about records out of the caller's sight (issue 16 review, item 4).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.records import service as S
from mom.engines.records.access import record_readable
from mom.engines.workflow.instance import WorkflowInstance
from mom.engines.workflow.runtime import I, TK, Runtime
from mom.platform import file_access
from mom.platform.errors import MomError, NotFound
from mom.platform.hookspecs import hookimpl


def may_see(rt: Runtime, inst: WorkflowInstance) -> bool:
    """May the acting user see ``inst`` (its timeline, its tasks)?"""
    actor = rt.ctx.actor
    if actor.is_admin or actor.id == inst.initiator_id:
        return True
    involved = rt.conn.execute(sa.select(sa.func.count()).select_from(TK).where(
        TK.c.instance_id == inst.id, TK.c.assignee_id == actor.id)).scalar_one()
    if involved:
        return True
    try:
        S.get_record(conn=rt.conn, registry=rt.forms, ctx=rt.ctx, form=inst.form, record_id=inst.record_id)
    except MomError:
        return False
    return True


def instance_file_readable(conn: Connection, forms: Any, actor: Any, link: Any) -> bool:
    """A workflow comment's file (link kind ``workflow``, ``ref_id`` the instance): readable by whoever
    may see the instance's timeline, the same rule as :func:`may_see` without a runtime."""
    inst = conn.execute(sa.select(I.c.initiator_id, I.c.form, I.c.record_id).where(I.c.id == int(link.ref_id))).first()
    if inst is None:
        return False
    if actor.id is not None and actor.id == inst.initiator_id:
        return True
    involved = conn.execute(sa.select(TK.c.id).where(TK.c.instance_id == int(link.ref_id),
                                                     TK.c.assignee_id == actor.id).limit(1)).first()
    return involved is not None or record_readable(conn, forms, actor, inst.form, int(inst.record_id))


@hookimpl
def mom_file_owners() -> list[file_access.FileOwner]:
    """Files attached to workflow comments and decisions."""
    return [file_access.FileOwner("workflow", instance_file_readable)]


def no_instance(instance_id: int) -> NotFound:
    """The answer for an instance id that does not exist, or that the caller may not see."""
    return NotFound(f"流程实例 {instance_id} 不存在", f"workflow instance {instance_id} does not exist")

"""Apply a plan in the caller's transaction: each operation runs itself through alembic's operations
(no hand-written DDL); see :mod:`mom.engines.forms.operations`.

Runs only plans that are not blocked. A failure anywhere raises, and the caller's transaction
rolls back: PostgreSQL and SQLite (set up for transactional DDL) both leave nothing half-done.
"""
from __future__ import annotations

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.operations import BLOCKED, OpsContext
from mom.engines.forms.plan import Plan
from mom.platform.errors import Conflict


def apply_plan(conn: Connection, plan: Plan, new: CompiledForm) -> None:
    """Run every operation of ``plan`` (which leads to ``new``) in ``conn``'s transaction."""
    if plan.blocked:
        raise Conflict("变更计划中有被阻止的步骤，未做任何修改", "the plan has blocked steps; nothing was changed",
                       detail={"plan": plan.as_dict()})
    ctx = OpsContext.of(conn, new)
    for op in plan.operations:
        if op.safety == BLOCKED:
            raise Conflict(op.zh, op.en)
        op.apply(ctx)

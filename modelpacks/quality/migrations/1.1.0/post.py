"""quality 1.1.0: an SPC alarm names its characteristic by 序号 (``char_seq``, the plan characteristic's
``seq_no``) besides its name. Alarms raised before 1.1.0 are kept; each gets the 序号 of the characteristic
of its plan with that name (the lowest when a plan repeats a name); one whose plan no longer has it stays
empty (the SPC page still finds it by name)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def migrate(conn: Any, ctx: Any) -> None:
    alarm = ctx.forms.get(conn, "spc_alarm").main
    chars = ctx.forms.get(conn, "inspection_plan").children.get("characteristics")
    if chars is None or "char_seq" not in alarm.c or "seq_no" not in chars.c:
        return
    seq = (sa.select(sa.func.min(chars.c.seq_no))
           .where(chars.c.parent_id == alarm.c.inspection_plan, chars.c.name == alarm.c.characteristic)
           .scalar_subquery())
    conn.execute(alarm.update().where(alarm.c.char_seq.is_(None)).values(char_seq=seq))

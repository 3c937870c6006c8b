"""`mom stock replenish [--dry-run]`: what the check of every 补料规则 did (or would do), in words."""
from __future__ import annotations

from typing import Any

import click

from mom.platform.cli.common import echo_json


def run_sweep(engine: Any, forms: Any, ctx: Any, *, dry_run: bool, as_json: bool) -> None:
    """Check every replenishment rule (a write transaction unless ``dry_run``) and print the requests made."""
    from mom.engines.inventory import documents as D
    from mom.engines.inventory import replenishment as RP
    from mom.platform.db.engine import read_tx, write_tx

    with (read_tx(engine) if dry_run else write_tx(engine)) as conn:
        out = RP.sweep(conn, forms, ctx, dry_run=dry_run)
        items = D.rows_by_id(conn, forms.get(conn, D.ITEM), {r["item"] for r in out["requests"]})
        locs = D.rows_by_id(conn, D.get(conn, forms, D.LOCATION),
                            {r[k] for r in out["requests"] for k in ("location", "source_location")})
    if as_json:
        echo_json({**out, "requests": [{**r, "on_hand": str(r["on_hand"]), "qty": str(r["qty"])} for r in out["requests"]]})
        return
    for r in out["requests"]:
        item = items.get(r["item"], {})
        what = "将生成 / would ask" if dry_run else f"已生成调拨草稿 / draft transfer {r['code']}"
        click.echo(f"{what}: {item.get('code')} {item.get('name')} {D.qty_text(r['qty'])}{item.get('unit') or ''}  "
                   f"{D.name_of(locs.get(r['source_location']))} → {D.name_of(locs.get(r['location']))}  "
                   f"（现有 / on hand {D.qty_text(r['on_hand'])}，规则 / rule {r['rule_code']}）")
    n = len(out["requests"])
    click.echo(f"检查了 {out['checked']} 条补料规则，{'需要' if dry_run else '生成了'} {n} 张补料单 / "
               f"{out['checked']} rules checked, {n} request(s) {'needed' if dry_run else 'made'}")

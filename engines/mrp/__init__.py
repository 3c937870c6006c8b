"""Material requirements planning (MRP, 物料需求计划; issue 21 item 4).

A pure core (``problem`` → ``plan``: items, BOMs, low-level codes, netting, lot sizing, lead-time offsetting
on the working calendar, pegging, exceptions; exact decimals, deterministic) and a database side that
reads the core pack's forms, writes a run (``mrp_run``) with its suggestions (``mrp_suggestion``) and
confirms suggestions into production and purchase orders through the record service. No HTTP inside.
See docs/mrp.md.
"""

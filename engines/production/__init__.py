"""The production engine (issue 19): releases production orders into operation tasks, takes job
reports (报工) under the plant's rules and keeps each order's progress computed from its tasks.

It binds to the ``core`` pack's forms by name and field key (``production_order``,
``operation_task``, ``job_report``, ``routing``, ``bom``, ``item``) and writes them only through the
record service, so hooks, audit, permissions and events apply as for any record:

- :mod:`.release`  ``release(conn, forms, ctx, order_id)``: routing and BOM copied into the order;
- :mod:`.reports`  ``report(conn, forms, ctx, doc)``: one job report, also reached as a record hook;
- :mod:`.progress` ``progress(conn, forms, ctx, order_id)``, ``dispatch(...)``, the order's rollup;
- :mod:`.hooks`    the record hooks that send every write path through the rules above.
"""

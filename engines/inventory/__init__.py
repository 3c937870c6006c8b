"""The stock engine (issue 21): an append-only ledger (``stock_move``), balances per item × location × lot
kept in the same transaction (``stock_balance``), lots, and the posting of the core pack's stock
documents. No HTTP inside (docs/inventory.md)."""

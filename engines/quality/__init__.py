"""Quality engine. ``sampling``: GB/T 2828.1 (ISO 2859-1) acceptance sampling plans; ``switching``:
the normal / tightened / reduced switching rules. Pure, no database. See docs/quality.md."""

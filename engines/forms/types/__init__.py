"""The built-in field types, one module per family; :mod:`.builtin` registers them through the
``mom_field_types`` hook, exactly as a plug-in registers its own."""

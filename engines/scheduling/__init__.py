"""Finite-capacity production scheduling (OR-Tools CP-SAT), independent of forms.

``load`` a ``mom.schedule-problem/1`` document, ``solve`` it (dispatching, then CP-SAT), ``check``
any schedule independently, ``reschedule`` after a breakdown or a rush order. See docs/scheduling.md.
"""

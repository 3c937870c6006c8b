"""Statistical process control: X̄-R, X̄-S (equal or unequal subgroup sizes), I-MR (chosen span), p, np, c
and u charts, EWMA and CUSUM, k-sigma limits, Western Electric / Nelson rules chosen one by one, phase II
(fixed limits, exclusions with reasons), capability (Cp, Cpk, Pp, Ppk, Cpm, Ppm, expected ppm, confidence
intervals, histogram, normality test) and Pareto.

Pure functions over numbers. Constants are computed from their definitions (see ``constants``); the
references each module follows are in its docstring.
"""
from __future__ import annotations

from mom.engines.reports.spc.attributes import c_chart, np_chart, p_chart, u_chart
from mom.engines.reports.spc.capability import capability
from mom.engines.reports.spc.chart import Chart
from mom.engines.reports.spc.constants import D2, D3_, c4, d2, d3, factors
from mom.engines.reports.spc.errors import SpcError
from mom.engines.reports.spc.pareto import pareto
from mom.engines.reports.spc.rules import NELSON, WESTERN_ELECTRIC, check_rules
from mom.engines.reports.spc.timeweighted import cusum, ewma
from mom.engines.reports.spc.variables import i_mr, xbar_r, xbar_s

__all__ = ["D2", "D3_", "NELSON", "WESTERN_ELECTRIC", "Chart", "SpcError", "c4", "c_chart", "capability", "check_rules",
           "cusum", "d2", "d3", "ewma", "factors", "i_mr", "np_chart", "p_chart", "pareto", "u_chart", "xbar_r", "xbar_s"]

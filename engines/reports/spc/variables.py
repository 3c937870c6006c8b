"""Charts for measurements: X̄-R, X̄-S (equal or unequal subgroup sizes) and I-MR with a chosen span.

Unequal sizes follow Montgomery, *Introduction to SQC*, §6.3.2: X̄-S uses the weighted grand mean
x̿ = Σnᵢx̄ᵢ/Σnᵢ and the pooled s̄ = √(Σ(nᵢ−1)sᵢ²/(Σnᵢ−m)) with limits x̿ ± A3(nᵢ)s̄, s̄·B3(nᵢ), s̄·B4(nᵢ);
X̄-R estimates σ̂ = mean(Rᵢ/d2(nᵢ)) (the qcc package's UWAVE-R) with limits x̿ ± kσ̂/√nᵢ and
d2(nᵢ)σ̂ ± k·d3(nᵢ)σ̂. Equal sizes reduce to the textbook x̿ ± A2R̄, D3R̄, D4R̄ (Example 6.3).
Phase II: ``standard={"mean", "sigma"}`` fixes the limits (μ ± Aσ, D1σ/D2σ, B5σ/B6σ);
``exclude={index: reason}`` leaves subgroups out of the estimates but still plots them.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mom.engines.reports.spc.chart import Chart, clean_groups, exclusions, missing_note, present, standard_values
from mom.engines.reports.spc.constants import d2, factors
from mom.engines.reports.spc.errors import SpcError
from mom.engines.reports.spc.rules import check_rules, parse


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs)


def _sd(xs: Sequence[float]) -> float:
    if len(xs) < 2:
        return 0.0
    m = _mean(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def finish(kind: str, main: Chart, spread: Chart | None, sigma_pts: list[float], rules: str, k: float,
           **extra: Any) -> dict[str, Any]:
    """Run rules on the main chart (zones from each point's sigma), the limits alone on the spread chart."""
    ucl, lcl = main.limits()
    main.violations = check_rules(main.points, main.center if main.center is not None else 0.0, sigma_pts, rules,
                                  ucl=ucl, lcl=lcl, k=k) if main.center is not None else \
        check_rules(main.points, 0.0, None, "limits", ucl=ucl, lcl=lcl)
    charts = [main]
    if spread is not None:
        su, sl = spread.limits()
        spread.violations = check_rules(spread.points, 0.0, None, "limits", ucl=su, lcl=sl)
        charts.append(spread)
    notes = [n for n in extra.pop("notes", []) if n]
    return {"type": kind, "charts": [c.as_dict() for c in charts], "k": k, "rules": rules, "notes": notes, **extra}


def _xbar(kind: str, groups: Iterable[Sequence[Any]], rules: str, k: float,
          exclude: Mapping[Any, Any] | None, standard: Mapping[str, Any] | None) -> dict[str, Any]:
    parse(rules)
    g, index, note = clean_groups(groups, 2)
    skip, excluded = exclusions(exclude, index)
    sizes = [len(x) for x in g]
    equal = len(set(sizes)) == 1
    means = [_mean(x) for x in g]
    spreads = [max(x) - min(x) for x in g] if kind == "xbar_r" else [_sd(x) for x in g]
    use = [i for i in range(len(g)) if i not in skip]
    fs = {n: factors(n, k) for n in set(sizes)}
    fixed = standard_values(standard)
    if fixed:
        mu, sigma = fixed
        xc = [mu] * len(g)
        half = [fs[n]["A"] * sigma for n in sizes]
        if kind == "xbar_r":
            sc, su, sl = ([fs[n][f] * sigma for n in sizes] for f in ("d2", "D2", "D1"))
        else:
            sc, su, sl = ([fs[n][f] * sigma for n in sizes] for f in ("c4", "B6", "B5"))
    else:
        w = sum(sizes[i] for i in use)
        mu = _mean([means[i] for i in use]) if equal else math.fsum(sizes[i] * means[i] for i in use) / w
        if kind == "xbar_r":
            if equal:
                bar = _mean([spreads[i] for i in use])
                sigma = bar / fs[sizes[0]]["d2"]
            else:
                sigma = _mean([spreads[i] / fs[sizes[i]]["d2"] for i in use])
            half = [k * sigma / math.sqrt(n) for n in sizes]
            sc, su, sl = ([fs[n][f] * sigma for n in sizes] for f in ("d2", "D2", "D1"))
        else:
            if equal:
                bar = _mean([spreads[i] for i in use])
            else:   # Montgomery eq. (6.31): pooled over all subgroups used
                bar = math.sqrt(math.fsum((sizes[i] - 1) * spreads[i] ** 2 for i in use) / (w - len(use)))
            half = [fs[n]["A3"] * bar for n in sizes]
            sc, su, sl = [bar] * len(g), [fs[n]["B4"] * bar for n in sizes], [fs[n]["B3"] * bar for n in sizes]
            sigma = bar / fs[sizes[0]]["c4"] if equal else bar / factors(w - len(use) + 1)["c4"]
        xc = [mu] * len(g)
    main = Chart.of("xbar", means, xc, [c + h for c, h in zip(xc, half)], [c - h for c, h in zip(xc, half)])
    spread = Chart.of("r" if kind == "xbar_r" else "s", spreads, sc, su, sl)
    f = fs[sizes[0]] if equal else factors(max(set(sizes), key=sizes.count), k)
    return finish(kind, main, spread, [h / k for h in half], rules, k, n=sizes[0] if equal else None,
                  sizes=None if equal else sizes, subgroups=len(g), sigma_within=sigma, mean=mu, factors=f,
                  index=index, excluded=excluded, phase="II" if fixed else "I", notes=[note])


def xbar_r(groups: Iterable[Sequence[Any]], *, rules: str = "western_electric", k: float = 3.0,
           exclude: Mapping[Any, Any] | None = None, standard: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """X̄ and R charts over subgroups (lists of readings; None is a missing reading, skipped with a note)."""
    return _xbar("xbar_r", groups, rules, k, exclude, standard)


def xbar_s(groups: Iterable[Sequence[Any]], *, rules: str = "western_electric", k: float = 3.0,
           exclude: Mapping[Any, Any] | None = None, standard: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """X̄ and S charts; any subgroup size from 2 (no upper cap besides memory)."""
    return _xbar("xbar_s", groups, rules, k, exclude, standard)


def i_mr(values: Iterable[Any], *, rules: str = "western_electric", k: float = 3.0, span: int = 2,
         exclude: Mapping[Any, Any] | None = None, standard: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Individuals and moving-range charts; the moving range spans ``span`` consecutive readings
    (σ̂ = MR̄/d2(span); MR limits D3(span)·MR̄, D4(span)·MR̄). Missing readings are skipped with a note."""
    parse(rules)
    if not isinstance(span, int) or isinstance(span, bool) or not 2 <= span <= 25:
        raise SpcError(f"移动极差跨度须在 2 到 25 之间（当前 {span}）", f"the moving-range span must be 2..25 (got {span})")
    raw = list(values)
    xs, index, missing = present(raw)
    note = missing_note(missing, [], what="reading")
    if note:
        note["zh-CN"] = f"跳过 {len(missing)} 个缺失读数（第 {'、'.join(str(i + 1) for i in sorted(missing)[:20])} 个）"
    if len(xs) < span + 1:
        raise SpcError(f"单值图至少需要 {span + 1} 个数据", f"an individuals chart needs at least {span + 1} values")
    skip, excluded = exclusions(exclude, index)
    mrs = [max(xs[i - span + 1:i + 1]) - min(xs[i - span + 1:i + 1]) for i in range(span - 1, len(xs))]
    f = factors(span, k)
    fixed = standard_values(standard)
    if fixed:
        mu, sigma = fixed
        mc, mu_l, mu_u = f["d2"] * sigma, f["D1"] * sigma, f["D2"] * sigma
    else:
        mu = _mean([x for i, x in enumerate(xs) if i not in skip])
        used = [m for j, m in enumerate(mrs) if not any(i in skip for i in range(j, j + span))]
        mc = _mean(used or mrs)
        sigma = mc / d2(span)
        mu_l, mu_u = f["D3"] * mc, f["D4"] * mc
    n = len(xs)
    main = Chart.of("i", xs, [mu] * n, [mu + k * sigma] * n, [mu - k * sigma] * n)
    spread = Chart.of("mr", mrs, [mc] * len(mrs), [mu_u] * len(mrs), [mu_l] * len(mrs))
    return finish("i_mr", main, spread, [sigma] * n, rules, k, n=1, span=span, subgroups=n, sigma_within=sigma,
                  mean=mu, factors=f, index=index, excluded=excluded, phase="II" if fixed else "I", notes=[note])

// The SPC page's pictures and words, from the chart answer of GET /api/quality/spc/chart (the report engine's
// chart: charts[] with points, limits and rule violations; labels; positions; excluded; capability).
// Pure functions: the page renders what they return; vitest checks them (tests/spc.test.js).

const RED = '#d03050'
const GREY = '#a0a0a0'
const LIMIT = '#e6a23c'
const SPEC = '#8e44ad'

/** @param {any} v @param {number} [d] a number as a person reads it (at most d decimals) */
export function fmt(v, d = 4) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return '—'
  const n = Number(v)
  if (!Number.isFinite(n)) return '—'
  return n.toLocaleString('zh-CN', { maximumFractionDigits: d, useGrouping: Math.abs(n) >= 10000 })
}

const short = (label) => { const parts = String(label).split('-'); return parts.length > 1 ? parts[parts.length - 1] : String(label) }
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]))

/** The subgroup (its index among the lots answered) behind each plotted point. @param {Record<string, any>} res */
export function pointGroups(res) {
  const out = []
  for (const [gi, ps] of Object.entries(res?.positions || {})) for (const p of ps) out[p] = Number(gi)
  return out
}

/** What is known of the lot behind point ``p``: {lot (id or null), code, at, group (index)}.
 * @param {Record<string, any>} res @param {number} p */
export function pointLot(res, p) {
  const gi = pointGroups(res)[p]
  const lots = res?.subgroups || res?.lots
  const g = Array.isArray(lots) && gi !== undefined ? lots[gi] || {} : {}
  return { group: gi ?? p, lot: g.inspection_lot ?? g.lot_id ?? g.id ?? null, code: g.code || (res?.labels || [])[p] || String(p + 1),
    at: g.at || g.inspected_at || null, values: g.values || null, excluded: g.excluded || null }
}

/** Plotted positions excluded from the limits -> {reason, exclusion id, ...}. @param {Record<string, any>} res */
export function excludedAt(res) {
  const out = new Map()
  const byGroup = res?.positions || {}
  for (const e of res?.excluded || []) {
    // X̄ charts: index is the subgroup's; I-MR: the reading's position (itself plotted)
    const ps = res?.type === 'i_mr' ? [e.index] : (byGroup[e.index] || byGroup[String(e.index)] || [e.index])
    for (const p of ps) out.set(p, e)
  }
  return out
}

/** Violated points of one chart part -> the rules' messages. @param {Record<string, any>} part @param {(m: any) => string} L */
export function violationsAt(part, L) {
  const out = new Map()
  for (const v of part?.violations || []) {
    for (const p of (v.points && v.points.length ? v.points : [v.index])) {
      const list = out.get(p) || []
      const msg = L(v.message)
      if (!list.includes(msg)) list.push(msg)
      out.set(p, list)
    }
  }
  return out
}

const same = (xs) => Array.isArray(xs) && xs.length > 0 && xs.every((x) => Math.abs(x - xs[0]) <= 1e-12 * Math.max(1, Math.abs(xs[0])))

/**
 * An ECharts option for one part of a control chart (X̄, R, S, I or MR).
 * @param {Record<string, any>} res the chart answer
 * @param {Record<string, any>} part one of res.charts
 * @param {{ t: (k: string, p?: any) => string, L: (m: any) => string, when?: (v: any) => string,
 *   spec?: { lsl?: number | null, usl?: number | null }, decimals?: number }} o
 */
export function controlOption(res, part, o) {
  const { t, L } = o
  const d = o.decimals ?? 4
  const labels = (res.labels || []).slice(0, part.points.length)
  while (labels.length < part.points.length) labels.push(String(labels.length + 1))
  const bad = violationsAt(part, L)
  const excl = part.name === 'mr' || part.name === 'r' || part.name === 's' ? new Map() : excludedAt(res)
  const data = part.points.map((v, i) => {
    const item = { value: v }
    if (excl.has(i)) item.itemStyle = { color: '#fff', borderColor: GREY, borderType: 'dashed' }
    if (bad.has(i)) { item.itemStyle = { color: RED, borderColor: RED }; item.symbolSize = 9 }
    return item
  })
  const series = [{ name: t('spc.series.' + part.name), type: 'line', data, symbol: 'circle', symbolSize: 6, z: 3, showAllSymbol: true,
    lineStyle: { color: '#409eff', width: 1.5 }, itemStyle: { color: '#409eff' } }]
  const lines = []
  const stepped = part.ucl === null || part.ucl === undefined
  const ucl = stepped ? part.ucl_points : null
  const lcl = stepped ? part.lcl_points : null
  const cl = part.center_points && !same(part.center_points) ? part.center_points : null
  const center = part.center ?? (part.center_points ? part.center_points[0] : null)
  if (stepped && ucl) {
    series.push({ name: 'UCL', type: 'line', step: 'middle', data: ucl, symbol: 'none', lineStyle: { color: LIMIT, type: 'dashed' }, z: 2 })
    series.push({ name: 'LCL', type: 'line', step: 'middle', data: lcl, symbol: 'none', lineStyle: { color: LIMIT, type: 'dashed' }, z: 2 })
  } else {
    if (part.ucl !== null && part.ucl !== undefined) lines.push({ yAxis: part.ucl, name: 'UCL', lineStyle: { color: LIMIT, type: 'dashed' } })
    if (part.lcl !== null && part.lcl !== undefined) lines.push({ yAxis: part.lcl, name: 'LCL', lineStyle: { color: LIMIT, type: 'dashed' } })
  }
  if (cl) series.push({ name: 'CL', type: 'line', step: 'middle', data: cl, symbol: 'none', lineStyle: { color: '#67c23a' }, z: 2 })
  else if (center !== null && center !== undefined) lines.push({ yAxis: center, name: 'CL', lineStyle: { color: '#67c23a', type: 'solid' } })
  const spec = (part.name === 'xbar' || part.name === 'i') ? (o.spec || {}) : {}
  if (spec.lsl !== null && spec.lsl !== undefined) lines.push({ yAxis: spec.lsl, name: 'LSL', lineStyle: { color: SPEC, type: 'dotted', width: 2 } })
  if (spec.usl !== null && spec.usl !== undefined) lines.push({ yAxis: spec.usl, name: 'USL', lineStyle: { color: SPEC, type: 'dotted', width: 2 } })
  // each line says its own value (not the axis-rounded one); upper lines label above, lower below, the centre on the left
  const at = { UCL: 'insideEndTop', USL: 'insideEndTop', LCL: 'insideEndBottom', LSL: 'insideEndBottom', CL: 'insideStartTop' }
  for (const l of lines) l.label = { formatter: `${l.name} ${fmt(l.yAxis, d)}`, position: at[l.name] }
  series[0].markLine = { silent: true, symbol: 'none', data: lines }
  const all = [...part.points, ...lines.map((l) => l.yAxis), ...(ucl || []), ...(lcl || [])].filter((v) => v !== null && Number.isFinite(v))
  const lo = Math.min(...all)
  const hi = Math.max(...all)
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.01 || 1
  return {
    animation: false,
    grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
    tooltip: { trigger: 'axis', confine: true, formatter: (ps) => tip(res, part, ps, { t, bad, excl, d, when: o.when }) },
    // a lot code's last part (QI-20261204-0026 → 0026) under the axis; the whole code is in the tooltip
    xAxis: { type: 'category', data: labels, axisLabel: { interval: 'auto', hideOverlap: true, overflow: 'none', width: undefined, formatter: short } },
    yAxis: { type: 'value', min: +(lo - pad).toPrecision(8), max: +(hi + pad).toPrecision(8), axisLabel: { formatter: (v) => fmt(v, d) } },
    dataZoom: part.points.length > 60 ? [{ type: 'inside' }] : undefined,
    series,
  }
}

function tip(res, part, ps, { t, bad, excl, d, when }) {
  const p = (Array.isArray(ps) ? ps[0] : ps)?.dataIndex ?? 0
  const lot = pointLot(res, p)
  const at = lot.at ? (when ? when(lot.at) : String(lot.at).slice(0, 16).replace('T', ' ')) : ''
  const rows = [`<b>${esc(lot.code)}</b>${at ? ' · ' + esc(at) : ''}`,
    `${esc(t('spc.series.' + part.name))}: ${fmt(part.points[p], d)}`]
  const ucl = part.ucl ?? part.ucl_points?.[p]
  const lcl = part.lcl ?? part.lcl_points?.[p]
  if (ucl !== null && ucl !== undefined) rows.push(`UCL ${fmt(ucl, d)} · LCL ${fmt(lcl, d)}`)
  for (const m of bad.get(p) || []) rows.push(`<span style="color:${RED}">● ${esc(m)}</span>`)
  if (excl.has(p)) rows.push(`<span style="color:${GREY}">${esc(t('spc.excludedTip', { reason: excl.get(p).reason }))}</span>`)
  return rows.join('<br/>')
}

/** The histogram (a filled step over the bins), LSL/USL lines and the fitted normal curve.
 * @param {Record<string, any>} cap res.capability @param {{ t: (k: string) => string, decimals?: number }} o */
export function histogramOption(cap, o) {
  const h = cap?.histogram
  if (!h || !Array.isArray(h.edges) || h.edges.length < 2) return { series: [] }
  const d = o.decimals ?? 4
  const step = h.counts.map((c, i) => [h.edges[i], c])
  step.push([h.edges[h.edges.length - 1], h.counts[h.counts.length - 1]])
  const lines = []
  if (h.lsl !== null && h.lsl !== undefined) lines.push({ xAxis: h.lsl, name: 'LSL' })
  if (h.usl !== null && h.usl !== undefined) lines.push({ xAxis: h.usl, name: 'USL' })
  const series = [{ name: o.t('spc.hist.count'), type: 'line', step: 'end', data: step, symbol: 'none', areaStyle: { opacity: 0.35 },
    lineStyle: { color: '#409eff' }, markLine: { silent: true, symbol: 'none', lineStyle: { color: SPEC, type: 'dotted', width: 2 },
      label: { formatter: (p) => `${p.name} ${fmt(p.value, d)}` }, data: lines } }]
  const sigma = cap.sigma_overall
  const lo = Math.min(h.edges[0], h.lsl ?? Infinity)
  const hi = Math.max(h.edges[h.edges.length - 1], h.usl ?? -Infinity)
  if (sigma > 0 && cap.n > 1) {
    const width = (h.edges[h.edges.length - 1] - h.edges[0]) / h.counts.length
    const curve = []
    for (let i = 0; i <= 60; i++) {
      const x = lo + ((hi - lo) * i) / 60
      const z = (x - cap.mean) / sigma
      curve.push([x, (cap.n * width * Math.exp(-0.5 * z * z)) / (sigma * Math.sqrt(2 * Math.PI))])
    }
    series.push({ name: o.t('spc.hist.normal'), type: 'line', data: curve, symbol: 'none', smooth: true, lineStyle: { color: '#67c23a' } })
  }
  const pad = (hi - lo) * 0.05 || 1
  return { animation: false, grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
    legend: { data: series.map((s) => s.name) }, tooltip: { trigger: 'axis', confine: true },
    xAxis: { type: 'value', min: +(lo - pad).toPrecision(8), max: +(hi + pad).toPrecision(8), axisLabel: { formatter: (v) => fmt(v, d) } },
    yAxis: { type: 'value', minInterval: 1 }, series }
}

/** The verdict in plain words: 'good' (Cpk ≥ 1.33), 'fair' (1.00–1.33), 'poor' (< 1.00) or 'none' (no tolerance).
 * @param {Record<string, any> | null | undefined} cap */
export function verdict(cap) {
  const k = cap?.Cpk
  if (k === null || k === undefined || !Number.isFinite(Number(k))) return 'none'
  return k >= 1.33 ? 'good' : k >= 1.0 ? 'fair' : 'poor'
}

/** The normality test's outcome: {normal, p, test} from Anderson-Darling (else the first test given). */
export function normality(cap) {
  const tests = cap?.normality || []
  const one = tests.find((x) => x.test === 'anderson_darling') || tests[0]
  if (!one || one.p_value === null || one.p_value === undefined) return null
  return { normal: one.p_value >= 0.05, p: one.p_value, test: one.test }
}

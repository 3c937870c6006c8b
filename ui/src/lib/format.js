// Formatting report values by their column: percent, decimals, option labels.
import { L } from '../i18n.js'

export function formatCell(col, v) {
  if (v == null) return '—'
  if (col.options && col.options[String(v)]) return L(col.options[String(v)], v)
  if (typeof v === 'number') {
    if (col.format === 'percent') return `${(v * 100).toFixed(Math.max(0, (col.decimals ?? 3) - 2))}%`
    if (col.decimals != null) return v.toLocaleString(undefined, { maximumFractionDigits: col.decimals })
    return v.toLocaleString()
  }
  return String(v)
}

// A bar/line chart option for a report result: first dimension on x, plain measures as series.
export function reportChart(result, kind = 'bar') {
  const dims = result.columns.filter((c) => c.kind === 'dimension')
  const measures = result.columns.filter((c) => c.kind === 'measure' && c.format !== 'percent').slice(0, 4)
  if (!dims.length || !measures.length) return null
  const x = dims[0]
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: measures.map((m) => L(m.label, m.key)) },
    xAxis: { type: 'category', data: result.rows.map((r) => formatCell(x, r[x.key])) },
    yAxis: { type: 'value' },
    series: measures.map((m) => ({ name: L(m.label, m.key), type: kind, data: result.rows.map((r) => r[m.key]) })),
  }
}

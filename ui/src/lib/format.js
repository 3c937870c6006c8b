// Formatting report values by their column: percent, decimals, option labels.
import { L, tr } from '../i18n.js'

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

// A record value as text for a field of a form definition: the display text of references, option
// labels, yes/no. Lists, read-only form fields and the shop-floor card all show values this way.
export function fieldText(field, v, display, yesNo = [tr('app.yes'), tr('app.no')]) {
  if (v == null || v === '') return ''
  if (display != null && display !== '') return display
  const option = (x) => L((field.options || []).find((o) => o.value === x)?.label, x)
  if (field.type === 'select') return option(v)
  if (field.type === 'multi_select') return (v || []).map(option).join(tr('app.listSep'))
  if (typeof v === 'boolean') return v ? yesNo[0] : yesNo[1]
  return String(v)
}

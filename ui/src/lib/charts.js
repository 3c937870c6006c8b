// How a chart is laid out in its card, whatever option the server or a designer gives.

// A chart with axes keeps its legend at the top (ECharts 6 puts it at the bottom, over the category
// labels) and leaves room above for the legend and the values printed on top of the bars; the grid
// contains the axis labels, so nothing overlaps at any width.
// Category names (温州精密铸造有限公司) wrap onto two lines within their slot rather than hiding each
// other; only when a slot is too narrow for two characters are overlapping names left out.
/**
 * @param {Record<string, any>} option an ECharts option
 * @param {number} [width] the chart's width in pixels (0: unknown)
 * @returns {Record<string, any>} the option as drawn
 */
export function laidOut(option, width = 0) {
  const base = { backgroundColor: 'transparent' }
  if (!option.xAxis) return { ...base, ...option }
  const legend = option.legend ? { type: 'scroll', top: 0, left: 'center', ...option.legend } : undefined
  const grid = { left: 8, right: 16, top: legend ? 44 : 28, bottom: 8, containLabel: true, ...(option.grid || {}) }
  const xAxis = Array.isArray(option.xAxis) ? option.xAxis
    : { ...option.xAxis, axisLabel: { ...categoryLabels(option.xAxis, width), ...(option.xAxis.axisLabel || {}) } }
  return { ...base, ...option, grid, xAxis, ...(legend ? { legend } : {}) }
}

function categoryLabels(axis, width) {
  const n = axis.type === 'category' ? (axis.data || []).length : 0
  const slot = n && width ? Math.floor((width - 64) / n) - 6 : 0
  return slot >= 28 ? { interval: 0, width: slot, overflow: 'break' } : { hideOverlap: true }
}

/**
 * Whether a chart has nothing to draw: every series without a data point (and no dataset rows). Such a chart
 * says 暂无数据 instead of a bare axis or a grey disc.
 * @param {Record<string, any>} option an ECharts option
 * @returns {boolean}
 */
export function isEmpty(option) {
  if (!option) return true
  const src = option.dataset && (Array.isArray(option.dataset) ? option.dataset : [option.dataset])
  if (src && src.some((d) => Array.isArray(d.source) && d.source.length > 1)) return false
  const series = Array.isArray(option.series) ? option.series : option.series ? [option.series] : []
  if (!series.length) return !src
  return series.every((s) => !Array.isArray(s.data) || s.data.every((v) => v === null || v === undefined || v === '-'))
}

import { describe, expect, it } from 'vitest'
import { isEmpty, laidOut } from '../src/lib/charts.js'

describe('chart layout', () => {
  const bars = { legend: { data: ['Records', 'Defects'] }, xAxis: { type: 'category', data: ['Size', 'Blowhole', 'Leak'] },
    yAxis: { type: 'value' }, series: [{ type: 'bar', data: [1, 1, 1] }, { type: 'bar', data: [12, 3, 8] }] }
  it('keeps the legend of a bar or line chart above the plot, clear of the category labels', () => {
    const o = laidOut(bars)
    expect(o.legend.top).toBe(0)
    expect(o.legend.bottom).toBeUndefined()
    expect(o.grid.top).toBeGreaterThanOrEqual(40)         // room for the legend and the values on top of the bars
    expect(o.grid.containLabel).toBe(true)                 // the axis labels sit inside the card
    expect(o.xAxis.data).toEqual(bars.xAxis.data)
    expect(o.series).toBe(bars.series)
  })
  it('leaves a pie and an explicit layout as given', () => {
    const pie = { legend: { bottom: 0 }, series: [{ type: 'pie', data: [] }] }
    expect(laidOut(pie).legend).toEqual({ bottom: 0 })
    expect(laidOut({ ...bars, grid: { top: 80 } }).grid.top).toBe(80)
    expect(laidOut({ xAxis: { type: 'category' }, series: [] }).grid.top).toBeLessThan(40)   // no legend, no room kept for it
  })
  it('wraps long category names within their slot instead of hiding them', () => {
    const o = laidOut(bars, 390)
    expect(o.xAxis.axisLabel).toMatchObject({ interval: 0, overflow: 'break' })
    expect(o.xAxis.axisLabel.width * 3).toBeLessThan(390)
    const many = { ...bars, xAxis: { type: 'category', data: Array.from({ length: 40 }, (_, i) => `S${i}`) } }
    expect(laidOut(many, 390).xAxis.axisLabel).toEqual({ hideOverlap: true })      // too narrow to wrap: thinned out
  })
})

describe('isEmpty', () => {
  it('says a chart with no data points is empty (暂无数据), one with a point is not', () => {
    expect(isEmpty({ xAxis: { type: 'category', data: [] }, series: [{ type: 'bar', data: [] }] })).toBe(true)
    expect(isEmpty({ series: [{ type: 'pie', data: [] }] })).toBe(true)
    expect(isEmpty({ series: [{ type: 'line', data: [null, undefined] }] })).toBe(true)
    expect(isEmpty({ series: [{ type: 'bar', data: [0] }] })).toBe(false)
    expect(isEmpty({ series: [{ type: 'gauge', data: [{ value: 87 }] }] })).toBe(false)
    expect(isEmpty({ dataset: { source: [['a', 'b'], [1, 2]] }, series: [{ type: 'bar' }] })).toBe(false)
  })
})

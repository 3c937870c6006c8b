// The SPC page's pictures and words (src/lib/spc.js) from a chart answer shaped as the report engine gives it.
import { describe, expect, it } from 'vitest'
import { controlOption, excludedAt, histogramOption, normality, pointLot, verdict, violationsAt } from '../src/lib/spc.js'

const t = (k, p) => (p ? `${k}:${JSON.stringify(p)}` : k)
const L = (m) => (m && typeof m === 'object' ? m['zh-CN'] : m)
const RES = {
  type: 'xbar_r', labels: ['QI-1', 'QI-2', 'QI-3', 'QI-4'], positions: { 0: [0], 1: [1], 2: [2], 3: [3] },
  subgroups: [{ inspection_lot: 11, code: 'QI-1', at: '2026-12-01T08:00:00' }, { inspection_lot: 12, code: 'QI-2' },
    { inspection_lot: 13, code: 'QI-3' }, { inspection_lot: 14, code: 'QI-4' }],
  excluded: [{ index: 1, reason: '换刀', exclusion: 5, inspection_lot: 12 }],
  charts: [
    { name: 'xbar', points: [10, 10.2, 9.9, 13], center: 10, ucl: 11, lcl: 9,
      violations: [{ rule: 1, index: 3, points: [3], message: { 'zh-CN': '1 点超出控制限（3σ）', en: 'beyond' } }] },
    { name: 'r', points: [1, 1.2, 0.8, 1], center: null, ucl: null, lcl: null, center_points: [1, 1, 1, 1],
      ucl_points: [2.1, 2.1, 2.5, 2.1], lcl_points: [0, 0, 0, 0], violations: [] }],
}

describe('SPC page', () => {
  it('marks a violated point red with the rule, an excluded one hollow, and draws the spec limits', () => {
    const o = controlOption(RES, RES.charts[0], { t, L, spec: { lsl: 8, usl: 12 } })
    const data = o.series[0].data
    expect(data[3].itemStyle.color).toBe('#d03050')
    expect(data[1].itemStyle.color).toBe('#fff')
    expect(data[0].itemStyle).toBeUndefined()
    expect(o.series[0].markLine.data.map((l) => l.label.formatter)).toEqual(['UCL 11', 'LCL 9', 'CL 10', 'LSL 8', 'USL 12'])
    expect(o.yAxis.max).toBeGreaterThan(13)
    const tipText = o.tooltip.formatter([{ dataIndex: 3 }])
    expect(tipText).toContain('QI-4')
    expect(tipText).toContain('1 点超出控制限（3σ）')
  })

  it('draws limits as steps when the subgroup size varies', () => {
    const o = controlOption(RES, RES.charts[1], { t, L })
    expect(o.series.map((s) => s.name).slice(1)).toEqual(['UCL', 'LCL'])
    expect(o.series[1].step).toBe('middle')
    expect(o.series[1].data[2]).toBe(2.5)
    expect(o.series[0].markLine.data.map((l) => l.name)).toEqual(['CL'])
  })

  it('knows the lot behind a point and the points excluded', () => {
    expect(pointLot(RES, 0)).toMatchObject({ lot: 11, code: 'QI-1', at: '2026-12-01T08:00:00' })
    expect(excludedAt(RES).get(1).reason).toBe('换刀')
    expect([...violationsAt(RES.charts[0], L).keys()]).toEqual([3])
  })

  it('says whether the process is capable and the data normal', () => {
    expect(verdict({ Cpk: 1.45 })).toBe('good')
    expect(verdict({ Cpk: 1.1 })).toBe('fair')
    expect(verdict({ Cpk: 0.7 })).toBe('poor')
    expect(verdict({ Cpk: null })).toBe('none')
    expect(normality({ normality: [{ test: 'shapiro_wilk', p_value: 0.01 }, { test: 'anderson_darling', p_value: 0.3 }] }))
      .toEqual({ normal: true, p: 0.3, test: 'anderson_darling' })
  })

  it('draws the histogram with its spec limits', () => {
    const o = histogramOption({ n: 10, mean: 1, sigma_overall: 0.1, histogram: { edges: [0.8, 1, 1.2], counts: [4, 6], lsl: 0.7, usl: 1.3 } }, { t })
    expect(o.series[0].data).toEqual([[0.8, 4], [1, 6], [1.2, 6]])
    expect(o.series[0].markLine.data.map((l) => l.name)).toEqual(['LSL', 'USL'])
    expect(o.xAxis.min).toBeLessThan(0.7)
  })
})

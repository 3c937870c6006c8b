import { describe, expect, it } from 'vitest'
import { conditionText, parseCondition, rowExpression } from '../src/lib/conditions.js'

const fields = {
  verdict: { key: 'verdict', type: 'select', label: { 'zh-CN': '判定' }, options: [{ value: 'a', label: { 'zh-CN': '合格' } }, { value: 'b', label: { 'zh-CN': '不合格' } }] },
  qty: { key: 'qty', type: 'integer', label: { 'zh-CN': '数量' } },
  on: { key: 'on', type: 'date', label: { 'zh-CN': '日期' } },
  at: { key: 'at', type: 'datetime', label: { 'zh-CN': '时间' } },
  tags: { key: 'tags', type: 'multi_select', label: { 'zh-CN': '缺陷' }, options: [{ value: 'x', label: { 'zh-CN': '划伤' } }] },
  ok: { key: 'ok', type: 'boolean', label: { 'zh-CN': '合格' } },
  who: { key: 'who', type: 'user', label: { 'zh-CN': '检验员' } },
}
const of = (k) => fields[k] || { key: k, type: 'text' }
const words = { op: (o) => ({ '==': '等于', '>': '大于', has: '包含' })[o] || o, yes: '是', no: '否', and: '且', label: (l, f) => l?.['zh-CN'] || f }

describe('conditions', () => {
  it('a select compares the stored value and reads by label', () => {
    const row = { field: 'verdict', op: '==', value: 'b' }
    expect(rowExpression(row, fields.verdict)).toBe("verdict == 'b'")
    expect(conditionText([row], of, words)).toBe('判定 等于 不合格')
  })
  it('typed literals round-trip', () => {
    const rows = [{ field: 'qty', op: '>', value: '5' }, { field: 'on', op: '>=', value: '2026-01-02' },
      { field: 'at', op: '<', value: '2026-03-04' }, { field: 'tags', op: 'has', value: 'x' }, { field: 'ok', op: '==', value: 'True' },
      { field: 'who', op: '==', value: '7' }, { field: 'note', op: 'not_has', value: "it's and more" }]
    const expr = rows.map((r) => rowExpression(r, of(r.field))).join(' and ')
    expect(expr).toBe("qty > 5 and on >= date('2026-01-02') and date(at) < date('2026-03-04') and contains(tags, 'x') and ok == True and who == 7 and not contains(note, 'it\\'s and more')")
    expect(parseCondition(expr)).toEqual(rows)
  })
  it('old stored conditions still load; what rows cannot hold stays an expression', () => {
    expect(parseCondition("cost > 10000")).toEqual([{ field: 'cost', op: '>', value: '10000' }])
    expect(parseCondition("select_1 == '不合格'")).toEqual([{ field: 'select_1', op: '==', value: '不合格' }])
    expect(parseCondition('a > b + 1')).toBeNull()
    expect(parseCondition('a > 1 or b < 2')).toBeNull()
  })
})

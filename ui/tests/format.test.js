import { describe, expect, it } from 'vitest'
import { fieldText, formatCell } from '../src/lib/format.js'

describe('values as text', () => {
  const select = { key: 'result', type: 'select', options: [{ value: 'pass', label: { 'zh-CN': '合格', en: 'Pass' } }] }
  it('shows option labels, display text of references and yes/no', () => {
    expect(fieldText(select, 'pass')).toBe('合格')
    expect(fieldText({ ...select, type: 'multi_select' }, ['pass', 'x'])).toBe('合格、x')
    expect(fieldText({ type: 'reference' }, 3, '瑞安标准件厂')).toBe('瑞安标准件厂')
    expect(fieldText({ type: 'boolean' }, false, null, ['Y', 'N'])).toBe('N')
    expect(fieldText({ type: 'decimal' }, 0)).toBe('0')
    expect(fieldText({ type: 'text' }, null)).toBe('')
  })
  it('formats report percentages', () => {
    expect(formatCell({ format: 'percent', decimals: 4 }, 0.95)).toBe('95.00%')
    expect(formatCell({}, null)).toBe('—')
  })
})

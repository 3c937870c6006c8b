import { describe, expect, it } from 'vitest'
import { displayOf, showsButtons, splitBranches, splitFields } from '../src/lib/choices.js'
import { newNode, newSplit } from '../src/lib/flow.js'
import { parseCondition } from '../src/lib/conditions.js'

const opt = (value, zh, en) => ({ value, label: { 'zh-CN': zh, en: en || zh } })
const verdict = { key: 'verdict', type: 'select', label: { 'zh-CN': '判定' }, options: [opt('a', '合格', 'Pass'), opt('b', '不合格', 'Fail')] }
const many = { key: 'line', type: 'select', label: { 'zh-CN': '产线' }, options: ['1', '2', '3', '4', '5', '6'].map((n) => opt(n, `${n}号线`)) }
const long = { key: 'cause', type: 'select', options: [opt('a', '来料尺寸超出公差范围'), opt('b', '其他')] }

let n = 0
const uid = () => `t${++n}`

describe('a select as buttons or a dropdown', () => {
  it('few short options are buttons, more or long ones a dropdown', () => {
    expect(showsButtons(verdict)).toBe(true)
    expect(showsButtons(many)).toBe(false)
    expect(showsButtons(long)).toBe(false)
    expect(showsButtons({ ...verdict, type: 'multi_select' })).toBe(false)
  })
  it('the field\'s hint (ui.display) wins over the rule; an unknown hint is automatic', () => {
    expect(showsButtons({ ...many, ui: { display: 'buttons' } })).toBe(true)
    expect(showsButtons({ ...verdict, ui: { display: 'dropdown' } })).toBe(false)
    expect(displayOf({ ...verdict, ui: { display: 'radio' } })).toBe('auto')
    expect(showsButtons({ ...verdict, ui: { span: 'full' } })).toBe(true)
  })
  it('older definitions with plain string options work', () => {
    expect(showsButtons({ key: 'k', type: 'select', options: ['OK', 'NG'] })).toBe(true)
  })
})

describe('按「判定」分支', () => {
  it('offers selects with 2..10 options and yes/no fields, not text or hidden ones', () => {
    const keys = splitFields([verdict, many, { key: 'ok', type: 'boolean' }, { key: 't', type: 'text' },
      { ...verdict, key: 'h', hidden: true }, { key: 'one', type: 'select', options: [opt('a', '甲')] }]).map((f) => f.key)
    expect(keys).toEqual(['verdict', 'line', 'ok'])
  })
  it('one branch per option comparing the stored value, labelled by the option, then 其他情况', () => {
    const b = splitBranches(verdict, uid)
    expect(b.map((x) => x.when ?? 'else')).toEqual(["verdict == 'a'", "verdict == 'b'", 'else'])
    expect(b[1].label).toEqual({ 'zh-CN': '不合格', en: 'Fail' })
    expect(b[2].else).toBe(true)
    expect(parseCondition(b[1].when)).toEqual([{ field: 'verdict', op: '==', value: 'b' }])
  })
  it('a yes/no field splits into 是 and 否', () => {
    const b = splitBranches({ key: 'ok', type: 'boolean' }, uid)
    expect(b.map((x) => x.when ?? 'else')).toEqual(['ok == True', 'ok == False', 'else'])
    expect(b[0].label['zh-CN']).toBe('是')
  })
  it('the node gets a free id beside the existing ones', () => {
    const tree = { nodes: [{ id: 'condition_1', type: 'condition', branches: [] }] }
    const node = newSplit(verdict, tree)
    expect(node.id).toBe('condition_2')
    expect(node.type).toBe('condition')
    expect(node.branches).toHaveLength(3)
  })
})

describe('a new approval node', () => {
  it('asks for named people (指定人员), the picker empty', () => {
    expect(newNode('approval', { nodes: [] }).assignees).toEqual([{ type: 'user', users: [] }])
  })
})

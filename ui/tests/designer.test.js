import { describe, expect, it } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { addSection, addTabs, allFields, fromDesigner, newField, problemsByField, staleEnglish, toDesigner } from '../src/lib/designer.js'
import { dropSlot, layoutOf } from '../src/lib/layout.js'
import { flowToTree, treeToFlow } from '../src/lib/flow.js'

const PACK = join(__dirname, '..', '..', 'modelpacks', 'demo')
const forms = readdirSync(join(PACK, 'forms')).map((f) => JSON.parse(readFileSync(join(PACK, 'forms', f), 'utf8')))

describe('form definition <-> designer', () => {
  it.each(forms.map((f) => [f.name, f]))('%s round-trips without loss', (_, def) => {
    expect(fromDesigner(toDesigner(def))).toEqual(def)
  })

  it('keeps a layout with sections and tabs, and every unknown key', () => {
    const def = { ...forms[0], ui: { theme: 'x', layout: [
      { type: 'section', label: { 'zh-CN': '基本', en: 'Basics' }, columns: 3, fields: [forms[0].fields[1].key] },
      { type: 'tabs', tabs: [{ label: { 'zh-CN': '其他', en: 'Other' }, columns: 1, fields: [forms[0].fields[0].key] }] }] }, x_custom: { a: 1 } }
    const back = fromDesigner(toDesigner(def))
    expect(back.x_custom).toEqual({ a: 1 })
    expect(back.ui.theme).toBe('x')
    expect(back.ui.layout[0]).toEqual(def.ui.layout[0])
    expect(back.ui.layout[1]).toEqual(def.ui.layout[1])
    expect(back.fields).toEqual(def.fields)   // field order is kept; layout carries the visual order
  })

  it('a new field lands in the definition and in the layout of its section', () => {
    const model = toDesigner(forms.find((f) => f.name === 'supplier'))
    addSection(model)
    const f = newField('decimal', model)
    model.blocks[1].fields.push(f)
    const def = fromDesigner(model)
    expect(def.fields.at(-1)).toMatchObject({ key: 'decimal_1', type: 'decimal', precision: 12, scale: 2 })
    expect(def.ui.layout.map((b) => b.fields.length)).toEqual([def.fields.length - 1, 1])
    expect(new Set(def.fields.map((x) => x.id)).size).toBe(def.fields.length)
  })

  it('renaming a field keeps its id (the engine renames the column, data kept)', () => {
    const def = forms.find((f) => f.name === 'supplier')
    const model = toDesigner(def)
    allFields(model)[1].key = 'supplier_name'
    const back = fromDesigner(model)
    expect(back.fields[1]).toMatchObject({ id: def.fields[1].id, key: 'supplier_name' })
  })

  it('new keys do not collide and tabs are emitted', () => {
    const model = toDesigner({ format: 'mom.form/1', name: 'x', label: { 'zh-CN': 'x', en: 'x' }, fields: [] })
    addTabs(model)
    model.blocks[0].fields.push(newField('text', model))
    model.blocks[0].fields.push(newField('text', model))
    model.blocks[1].tabs[0].fields.push(newField('table', model))
    const def = fromDesigner(model)
    expect(def.fields.map((f) => f.key)).toEqual(['text_1', 'text_2', 'table_1'])
    expect(def.ui.layout[1].type).toBe('tabs')
    expect(layoutOf(def)[1].tabs[0].fields[0].key).toBe('table_1')
  })

  it('server problems are shown on the field they name', () => {
    const def = forms.find((f) => f.name === 'supplier')
    const by = problemsByField([{ path: '/fields/1/key', message: 'x' }, { path: '/name', message: 'y' }], def)
    expect(by[def.fields[1].key]).toHaveLength(1)
    expect(by._form).toHaveLength(1)
  })
})

describe('workflow definition <-> flow designer tree', () => {
  const flow = JSON.parse(readFileSync(join(PACK, 'workflows', 'ncr_review.json'), 'utf8'))
  it('the demo flow round-trips without loss', () => {
    expect(treeToFlow(flowToTree(flow))).toEqual(flow)
  })
})

describe('review 20 #7 and #12: field order and English placeholders', () => {
  it('a field dropped between two others follows the first of them in the definition, also after a removal', () => {
    const def = { format: 'mom.form/1', name: 'ncr', label: { 'zh-CN': '不合格品处理单' }, fields: ['a', 'b', 'c', 'd', 'e'].map((k, i) => (
      { id: `f${i}`, key: k, type: 'text', label: { 'zh-CN': k } })) }
    const model = toDesigner(def)
    const list = model.blocks[0].fields
    list.splice(3, 1)                                   // remove d
    const f = newField('select', model)
    list.splice(2, 0, f)                                // drop between b and c
    const back = fromDesigner(model)
    expect(back.fields.map((x) => x.key)).toEqual(['a', 'b', f.key, 'c', 'e'])
    expect(back.ui).toBeUndefined()                     // one section in field order: no layout needed
    list.splice(0, 0, newField('integer', model))       // dropped first
    expect(fromDesigner(model).fields[0].type).toBe('integer')
  })

  it('the drop slot is read in the grid order under the pointer', () => {
    const r = (left, top) => ({ left, top, right: left + 100, bottom: top + 40 })
    const grid = [r(0, 0), r(110, 0), r(0, 50), r(110, 50), r(0, 100)]   // 2 columns, 5 cards
    expect(dropSlot(grid, { x: 120, y: 60 })).toBe(3)     // left half of the 4th card: before it
    expect(dropSlot(grid, { x: 190, y: 60 })).toBe(4)     // right half: after it
    expect(dropSlot(grid, { x: 50, y: 300 })).toBe(5)     // below every card: last
    expect(dropSlot(grid, { x: 5, y: 5 })).toBe(0)
  })

  it('new fields and options named only in Chinese keep no English placeholder', () => {
    const model = toDesigner({ format: 'mom.form/1', name: 'x', label: { 'zh-CN': '不合格品处理单', en: '' }, fields: [] })
    const f = newField('select', model)
    f.label['zh-CN'] = '处理方式'
    f.options[0].label['zh-CN'] = '返工'
    const g = newField('text', model)                   // not renamed: keeps its type name in both languages
    model.blocks[0].fields.push(f, g)
    const back = fromDesigner(model)
    expect(back.label).toEqual({ 'zh-CN': '不合格品处理单' })
    expect(back.fields[0].label).toEqual({ 'zh-CN': '处理方式' })
    expect(back.fields[0].options[0].label).toEqual({ 'zh-CN': '返工' })
    expect(back.fields[0].options[1].label.en).toBeTruthy()   // still the placeholder in both languages
    expect(back.fields[1].label.en).toBe('Text')
    // an English label typed by hand stays; a stale one saved earlier is repaired on the next publish
    expect(staleEnglish({ 'zh-CN': '产品名称', en: 'Product' })).toBe(false)
    expect(staleEnglish({ 'zh-CN': '产品名称', en: 'Text' })).toBe(true)
    expect(staleEnglish({ 'zh-CN': '让步接收', en: 'Option 3' })).toBe(true)
  })
})

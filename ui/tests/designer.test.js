import { describe, expect, it } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { addSection, addTabs, allFields, fromDesigner, newField, problemsByField, toDesigner } from '../src/lib/designer.js'
import { layoutOf } from '../src/lib/layout.js'
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

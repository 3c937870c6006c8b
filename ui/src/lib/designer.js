// Form definition (mom.form/1) <-> form designer model. The definition stays the source of truth:
// fromDesigner(toDesigner(def)) gives back the same definition (unit-tested on every demo form), and
// the designer only adds what the user changed.
import { DEFAULT_COLUMNS, layoutOf } from './layout.js'
import { both, tr } from '../i18n.js'

// The palette: every field type, labelled from the locale files (fieldType.*).
export const FIELD_TYPES = ['text', 'long_text', 'integer', 'decimal', 'boolean', 'date', 'datetime', 'select', 'multi_select',
  'reference', 'table', 'attachment', 'user', 'department', 'formula', 'autonumber', 'barcode'].map((type) => ({ type, label: both(`fieldType.${type}`) }))

let counter = 0
export function newId(taken) {
  let id
  do { id = `f${Date.now().toString(36).slice(-4)}${(counter++).toString(36)}` } while (taken && taken.has(id))
  return id
}

function allFields(model) {
  const out = []
  for (const b of model.blocks) {
    if (b.type === 'tabs') for (const t of b.tabs) out.push(...t.fields)
    else out.push(...b.fields)
  }
  return out
}
export { allFields }

export function newField(type, model) {
  const fields = model ? allFields(model) : []
  const ids = new Set(fields.flatMap((f) => [f.id, ...(f.fields || []).map((c) => c.id)]))
  const keys = new Set(fields.map((f) => f.key))
  const meta = FIELD_TYPES.find((t) => t.type === type) || { label: { 'zh-CN': type, en: type } }
  let n = 1
  while (keys.has(`${type}_${n}`)) n++
  const f = { id: newId(ids), key: `${type}_${n}`, type, label: { ...meta.label } }
  if (type === 'decimal') Object.assign(f, { precision: 12, scale: 2 })
  if (type === 'select' || type === 'multi_select') f.options = [
    { value: 'a', label: both('designer.option1') }, { value: 'b', label: both('designer.option2') }]
  if (type === 'formula') Object.assign(f, { formula: '', result_type: 'decimal' })
  if (type === 'autonumber') f.pattern = 'NO-{yyyyMMdd}-{seq:4}'
  if (type === 'table') f.fields = []
  if (type === 'reference') f.form = ''
  return f
}

const clone = (x) => JSON.parse(JSON.stringify(x))
let uid = 0
const nextUid = () => `b${++uid}`

export function toDesigner(definition) {
  const def = clone(definition)
  const { fields = [], ui = {}, ...meta } = def
  const { layout, ...uiRest } = ui || {}
  const blocks = layoutOf({ fields, ui: { layout } }).map((b) => (b.type === 'tabs'
    ? { uid: nextUid(), type: 'tabs', tabs: b.tabs.map((t) => ({ uid: nextUid(), label: t.label ?? null, columns: t.columns, fields: t.fields })) }
    : { uid: nextUid(), type: 'section', label: b.label ?? null, columns: b.columns, fields: b.fields }))
  return { meta, uiRest, hadUi: 'ui' in def, hadLayout: !!layout, order: fields.map((f) => f.id), blocks }
}

// the section header's input gives an unnamed section an empty label: that is no label
const hasLabel = (l) => !!l && (typeof l === 'string' ? !!l : Object.values(l).some((v) => !!v))
function isDefaultLayout(model, keys) {
  if (model.blocks.length !== 1) return false
  const b = model.blocks[0]
  if (b.type !== 'section' || hasLabel(b.label) || (b.columns || DEFAULT_COLUMNS) !== DEFAULT_COLUMNS) return false
  return b.fields.map((f) => f.key).join('\u0000') === keys.join('\u0000')
}

// Placeholder English labels (a new field's type name, 「Option 1」, 「New section」, 「Tab 2」) are stale once
// the Chinese label was changed: they are dropped, and the English display falls back to the Chinese name
// (issue 20 #12). An English label typed by hand is kept. Definitions saved before this are repaired on
// their next publish.
function placeholders() {
  const zh = new Set(); const en = new Set()
  const add = (b) => { zh.add(b['zh-CN']); en.add(b.en) }
  for (const tp of FIELD_TYPES) add(tp.label)
  for (const k of ['designer.option1', 'designer.option2', 'designer.newSection', 'designer.firstTab']) add(both(k))
  return { zh, en }
}
const NUMBERED_EN = /^(Option|Tab|New section|Section) ?\d*$/
// numbered Chinese placeholders (「选项名称3」, 「标签2」): their text before the number, from the locale
const numberedZh = (zh) => [both('nocode.optionPh'), both('designer.tabN', { n: '' })].some((b) => {
  const p = b['zh-CN']
  return p && zh.startsWith(p) && /^\s*\d*$/.test(zh.slice(p.length))
})
export function staleEnglish(label, ph = placeholders()) {
  if (!label || typeof label !== 'object' || typeof label.en !== 'string') return false
  const zh = (label['zh-CN'] || '').trim()
  if (!zh) return false
  if (!label.en.trim()) return true
  const isPh = ph.en.has(label.en) || NUMBERED_EN.test(label.en)
  return isPh && !ph.zh.has(zh) && !numberedZh(zh)
}
function cleanLabel(x, ph) {
  if (x && typeof x === 'object' && staleEnglish(x.label, ph)) { const { en, ...rest } = x.label; x.label = rest }
}
export function cleanLabels(def) {
  const ph = placeholders()
  cleanLabel(def, ph)
  for (const f of def.fields || []) {
    cleanLabel(f, ph)
    for (const o of f.options || []) cleanLabel(o, ph)
    for (const c of f.fields || []) { cleanLabel(c, ph); for (const o of c.options || []) cleanLabel(o, ph) }
  }
  for (const b of def.ui?.layout || []) { cleanLabel(b, ph); for (const tab of b.tabs || []) cleanLabel(tab, ph) }
  return def
}

// The order of `fields`: existing fields keep their place (by id: a renamed key stays put, and an untouched
// form round-trips unchanged); a new field goes right after the field it follows on the canvas, so every
// screen that reads `fields` in order (the list, the export, a form without layout) shows it where it was
// dropped (issue 20 review #7), and a one-section form needs no layout.
export function definitionOrder(laid, order) {
  const pos = new Map(order.map((k, i) => [k, i]))
  const out = laid.filter((f) => pos.has(f.id)).sort((a, b) => pos.get(a.id) - pos.get(b.id))
  laid.forEach((f, i) => {
    if (pos.has(f.id)) return
    const before = laid.slice(0, i).reverse().find((x) => out.includes(x))
    out.splice(before ? out.indexOf(before) + 1 : 0, 0, f)
  })
  return out
}

export function fromDesigner(model) {
  const fields = definitionOrder(allFields(model), model.order)
  const def = { ...clone(model.meta), fields: clone(fields) }
  const ui = clone(model.uiRest || {})
  if (model.hadLayout || !isDefaultLayout(model, fields.map((f) => f.key))) {
    ui.layout = model.blocks.map((b) => (b.type === 'tabs'
      ? { type: 'tabs', tabs: b.tabs.map((t) => ({ ...(hasLabel(t.label) ? { label: t.label } : {}), columns: t.columns || DEFAULT_COLUMNS, fields: t.fields.map((f) => f.key) })) }
      : { type: 'section', ...(hasLabel(b.label) ? { label: b.label } : {}), columns: b.columns || DEFAULT_COLUMNS, fields: b.fields.map((f) => f.key) }))
  }
  if (model.hadUi || Object.keys(ui).length) def.ui = ui
  return cleanLabels(def)
}

export function addSection(model, label) {
  model.blocks.push({ uid: nextUid(), type: 'section', label: label || both('designer.newSection'), columns: DEFAULT_COLUMNS, fields: [] })
}
export function addTabs(model) {
  model.blocks.push({ uid: nextUid(), type: 'tabs', tabs: [{ uid: nextUid(), label: both('designer.firstTab'), columns: DEFAULT_COLUMNS, fields: [] }] })
}
export function addTab(block) {
  block.tabs.push({ uid: nextUid(), label: both('designer.tabN', { n: block.tabs.length + 1 }), columns: DEFAULT_COLUMNS, fields: [] })
}

// Problems from the server (JSON pointers like /fields/3/formula) by field key, for the canvas and panel.
export function problemsByField(problems, def) {
  const out = {}
  for (const p of problems || []) {
    const m = /^\/fields\/(\d+)(\/.*)?$/.exec(p.path || '')
    const key = m ? def.fields[Number(m[1])]?.key : '_form'
    ;(out[key || '_form'] ||= []).push(p)
  }
  return out
}

// A sample record for the live preview: plausible values by type.
export function sampleRecord(def) {
  const rec = {}
  for (const f of def.fields || []) {
    const v = { text: tr('designer.sampleText'), long_text: tr('designer.sampleLongText'), integer: 10, decimal: 12.5, boolean: true, date: '2026-11-21',
      datetime: '2026-11-21T08:30:00+08:00', barcode: 'SN-0001', autonumber: 'NO-20261121-0001' }[f.type]
    if (v !== undefined) rec[f.key] = v
    if (f.type === 'select') rec[f.key] = f.options?.[0]?.value ?? null
    if (f.type === 'multi_select') rec[f.key] = f.options?.slice(0, 1).map((o) => o.value) ?? []
    if (f.type === 'table') rec[f.key] = [sampleRecord({ fields: f.fields || [] })]
  }
  return rec
}

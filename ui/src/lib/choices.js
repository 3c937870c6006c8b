// A single choice shown as a row of buttons (one click picks) or as a dropdown, and the flow designer's
// 按「字段」分支 preset: one condition branch per option of a select (or 是/否 of a yes/no field).
import { both } from '../i18n.js'
import { rowExpression } from './conditions.js'

export const MAX_BUTTONS = 5          // at most this many options show as buttons (the automatic rule)
export const MAX_BUTTON_LABEL = 8     // ... each label at most this many characters
export const MAX_SPLIT_OPTIONS = 10   // 按「字段」分支 is offered for selects with 2..10 options
export const DISPLAYS = ['auto', 'buttons', 'dropdown']

const text = (label, value) => (label == null ? String(value)
  : typeof label === 'string' ? label : label['zh-CN'] || label.en || String(value))

/** Options of a select as {value, label} whatever their stored shape (older definitions: plain strings). */
export function optionsOf(field) {
  return (field?.options || []).map((o) => (typeof o === 'object' && o !== null ? o : { value: o, label: String(o) }))
}

/** The display hint of a select field (its `ui.display`): 'buttons' (平铺), 'dropdown' (下拉) or 'auto'. */
export function displayOf(field) {
  const d = field?.ui?.display
  return DISPLAYS.includes(d) ? d : 'auto'
}

/** Whether a single-select shows its options as buttons: the field's hint, otherwise at most
 * MAX_BUTTONS options whose labels (in every language) have at most MAX_BUTTON_LABEL characters. */
export function showsButtons(field) {
  if (field?.type !== 'select') return false
  const d = displayOf(field)
  if (d !== 'auto') return d === 'buttons'
  return fewShortOptions(optionsOf(field))
}

/** At most MAX_BUTTONS options with short labels (a condition row's rule too). */
export function fewShortOptions(options) {
  if (!options.length || options.length > MAX_BUTTONS) return false
  return options.every((o) => {
    const labels = o.label && typeof o.label === 'object' ? Object.values(o.label) : [text(o.label, o.value)]
    return labels.every((l) => String(l ?? '').length <= MAX_BUTTON_LABEL)
  })
}

/** Fields of a form a condition can split on: a select with 2..MAX_SPLIT_OPTIONS options, or yes/no. */
export function splitFields(fields) {
  return (fields || []).filter((f) => !f.hidden && (f.type === 'boolean'
    || (f.type === 'select' && optionsOf(f).length >= 2 && optionsOf(f).length <= MAX_SPLIT_OPTIONS)))
}

/** The branches of 按「field」分支: one per option ("判定 == 'b'", labelled with the option's label in
 * every language) and 其他情况 last (records with no value). ``newUid`` gives each branch its render id. */
export function splitBranches(field, newUid) {
  const rows = field.type === 'boolean'
    ? [{ value: 'True', label: both('app.yes') }, { value: 'False', label: both('app.no') }]
    : optionsOf(field).map((o) => ({ value: o.value, label: labelBoth(o.label, o.value) }))
  return [
    ...rows.map((r) => ({ _uid: newUid(), label: r.label, when: rowExpression({ field: field.key, op: '==', value: r.value }, field), nodes: [] })),
    { _uid: newUid(), else: true, nodes: [] },
  ]
}

function labelBoth(label, value) {
  if (label && typeof label === 'object') {
    const zh = label['zh-CN'] || label.en || String(value)
    return { 'zh-CN': zh, en: label.en || zh }
  }
  const s = text(label, value)
  return { 'zh-CN': s, en: s }
}

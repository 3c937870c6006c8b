// Keys (form, field, option, flow, report, dashboard names) made from the Chinese labels the user
// types, by the server (POST /api/designer/keys: pinyin, unique, never reserved). The designers only
// re-key what was never published and what the user did not name by hand in the 高级 panel: a
// published key is stable, whatever its label becomes.
import { toRaw } from 'vue'
import { designerKeys } from '../api/forms.js'

/** @param {'form'|'field'|'option'|'flow'|'report'|'dashboard'} kind @param {string[]} labels
 *  @param {string[]} [taken] @param {boolean} [inTable] @returns {Promise<string[]>} */
export async function keysFor(kind, labels, taken = [], inTable = false) {
  if (!labels.length) return []
  return (await designerKeys(kind, labels, taken, inTable)).keys
}

// Objects (fields, options, a definition's meta) whose key must not be generated: published (stable),
// or typed by hand in the 高级 panel. Everything else follows its label.
export class KeyKeeper {
  constructor() { this.published = new WeakSet(); this.typed = new WeakSet(); this.asked = new Map(); this.given = new Map() }
  publish(obj) { if (obj && typeof obj === 'object') this.published.add(toRaw(obj)) }
  isPublished(obj) { return !!obj && this.published.has(toRaw(obj)) }
  /** The user typed a key: it stays; an emptied one follows its label again. */
  type(obj, value) { if (value) this.typed.add(toRaw(obj)); else { this.typed.delete(toRaw(obj)); this.asked.clear() } }
  auto(obj) { return !!obj && !this.published.has(toRaw(obj)) && !this.typed.has(toRaw(obj)) }
  /** Ask for the keys of one scope (the form's fields, one field's options …) when its labels or taken
   *  keys changed, or a key was changed since; `apply(item, key)` where the key differs. */
  async run(scope, kind, items, labelOf, keyOf, apply, taken = [], inTable = false) {
    const auto = items.filter((x) => this.auto(x))
    const labels = auto.map(labelOf)
    const sig = JSON.stringify([labels, taken])
    const given = this.given.get(scope)
    if (this.asked.get(scope) === sig && given && auto.every((x, i) => keyOf(x) === given[i])) return
    this.asked.set(scope, sig)
    const keys = await keysFor(kind, labels, taken, inTable)
    // a label typed meanwhile asks again on the next run; apply only to what still matches
    if (JSON.stringify(auto.map(labelOf)) !== JSON.stringify(labels)) { this.asked.delete(scope); return }
    this.given.set(scope, keys)
    auto.forEach((x, i) => { if (this.auto(x) && keyOf(x) !== keys[i]) apply(x, keys[i]) })   // typed meanwhile: kept
  }
}

// A renamed field key, carried where the definition names it: the display field and formulas.
export function renameKey(meta, fields, from, to) {
  if (!from || from === to) return
  if (meta.display_field === from) meta.display_field = to
  const word = new RegExp(`(?<![A-Za-z0-9_.])${from}(?![A-Za-z0-9_])`, 'g')
  for (const f of fields) {
    if (typeof f.formula === 'string' && word.test(f.formula)) f.formula = f.formula.replace(word, to)
    word.lastIndex = 0
    for (const c of f.fields || []) if (typeof c.formula === 'string') c.formula = c.formula.replace(word, to)
  }
}

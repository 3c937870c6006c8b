// The form layout of a definition: `ui.layout` lists sections and tab groups by field key;
// fields it does not name follow in a last section. Without `ui.layout`: one two-column section.
//
//   "ui": {"layout": [
//     {"type": "section", "label": {"zh-CN": "基本信息", "en": "Basics"}, "columns": 2, "fields": ["code", "supplier"]},
//     {"type": "tabs", "tabs": [{"label": {...}, "columns": 1, "fields": ["readings"]}]}]}

export const DEFAULT_COLUMNS = 2

export function layoutOf(definition) {
  const fields = definition.fields || []
  const byKey = new Map(fields.map((f) => [f.key, f]))
  const used = new Set()
  const take = (keys) => (keys || []).filter((k) => byKey.has(k) && !used.has(k)).map((k) => { used.add(k); return byKey.get(k) })
  const out = []
  for (const block of definition.ui?.layout || []) {
    if (block.type === 'tabs') {
      out.push({ type: 'tabs', tabs: (block.tabs || []).map((tab) => ({ label: tab.label, columns: tab.columns || DEFAULT_COLUMNS, fields: take(tab.fields) })) })
    } else {
      out.push({ type: 'section', label: block.label, columns: block.columns || DEFAULT_COLUMNS, fields: take(block.fields) })
    }
  }
  const rest = fields.filter((f) => !used.has(f.key))
  if (rest.length || !out.length) out.push({ type: 'section', label: null, columns: DEFAULT_COLUMNS, fields: rest })
  return out
}

// The width (of 24) a field takes in a section of n columns.
export function spanOf(field, columns) {
  if (field.type === 'table' || field.type === 'long_text' && columns > 1 && field.ui?.span === 'full') return 24
  if (field.ui?.span === 'full') return 24
  return Math.max(1, Math.floor(24 / (columns || DEFAULT_COLUMNS)))
}

// Where a card dropped at point {x, y} goes among the other cards of a grid (their client rects, in
// order): before the first card that lies below the point's row, or in that row to the right of it.
export function dropSlot(rects, pt) {
  let n = 0
  for (const r of rects) if (r.bottom <= pt.y || (r.top <= pt.y && (r.left + r.right) / 2 < pt.x)) n++
  return n
}

// Flow branch conditions as rows (field, operator, value) and back: what ConditionBuilder.vue shows.
// The stored expression compares stored values (an option's value, a user's id); the preview shows
// labels ("判定 等于 不合格"). An expression the rows cannot represent parses to null (expression mode).

const NAME = '[a-z_][a-z0-9_]*'
const LIT = "'(?:[^'\\\\]|\\\\.)*'|-?\\d+(?:\\.\\d+)?|True|False|None|date\\('\\d{4}-\\d{2}-\\d{2}'\\)"
const CMP = new RegExp(`^(?:date\\(\\s*(${NAME})\\s*\\)|(${NAME}))\\s*(==|!=|>=|<=|>|<)\\s*(${LIT})$`)
const HAS = new RegExp(`^(not\\s+)?contains\\(\\s*(${NAME})\\s*,\\s*(${LIT})\\s*\\)$`)

// the message key of each operator (cond.op.<word>)
export const OP_WORD = { '==': 'eq', '!=': 'ne', '>': 'gt', '>=': 'ge', '<': 'lt', '<=': 'le', has: 'has', not_has: 'not_has' }

export const OPS_BY_KIND = {
  choice: ['==', '!='],
  multi: ['has', 'not_has'],
  boolean: ['=='],
  picker: ['==', '!='],
  number: ['==', '!=', '>', '>=', '<', '<='],
  date: ['==', '!=', '>', '>=', '<', '<='],
  text: ['==', '!=', 'has', 'not_has'],
}

/** How a field's value is picked in a condition: choice, multi, boolean, picker, number, date or text. */
export function kindOf(field) {
  const type = field?.type === 'formula' ? (field.result_type || 'decimal') : field?.type
  if (type === 'select') return 'choice'
  if (type === 'multi_select') return 'multi'
  if (type === 'boolean') return 'boolean'
  if (['user', 'department', 'reference'].includes(type)) return 'picker'
  if (['integer', 'decimal'].includes(type)) return 'number'
  if (['date', 'datetime'].includes(type)) return 'date'
  return 'text'
}

function unquote(lit) {
  if (lit.startsWith("date('")) return lit.slice(6, -2)
  if (lit.startsWith("'")) return lit.slice(1, -1).replace(/\\(.)/g, '$1')
  return lit
}

function quote(v) {
  return `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

// "a == 'x' and b > 1" -> ["a == 'x'", "b > 1"], not splitting inside quotes
function parts(s) {
  const out = []
  let cur = ''
  let q = false
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]
    if (q && ch === '\\') { cur += ch + (s[i + 1] ?? ''); i++; continue }
    if (ch === "'") q = !q
    if (!q && /^\s+and\s+/.test(s.slice(i)) && cur.trim()) {
      out.push(cur.trim())
      cur = ''
      i += s.slice(i).match(/^\s+and\s+/)[0].length - 1
      continue
    }
    cur += ch
  }
  if (cur.trim()) out.push(cur.trim())
  return out
}

/** Rows of an expression, or null when the rows cannot represent it (it stays an expression). */
export function parseCondition(s) {
  if (!s || !s.trim()) return []
  const out = []
  for (const p of parts(s)) {
    let m = HAS.exec(p)
    if (m) { out.push({ field: m[2], op: m[1] ? 'not_has' : 'has', value: unquote(m[3]) }); continue }
    m = CMP.exec(p)
    if (!m) return null
    out.push({ field: m[1] || m[2], op: m[3], value: unquote(m[4]) })
  }
  return out
}

/** The expression of one row for ``field`` (its definition): stored values, typed literals. */
export function rowExpression(row, field) {
  const key = row.field
  const kind = kindOf(field)
  if (row.op === 'has' || row.op === 'not_has') return `${row.op === 'not_has' ? 'not ' : ''}contains(${key}, ${quote(row.value)})`
  let lit
  if (kind === 'boolean' || ['True', 'False', 'None'].includes(row.value)) lit = row.value
  else if ((kind === 'number' || kind === 'picker') && row.value !== '' && !isNaN(Number(row.value))) lit = String(Number(row.value))
  else if (kind === 'date' && /^\d{4}-\d{2}-\d{2}$/.test(row.value)) {
    return `${field.type === 'datetime' ? `date(${key})` : key} ${row.op} date('${row.value}')`
  } else lit = quote(row.value)
  return `${key} ${row.op} ${lit}`
}

/** The rows in words: "判定 等于 不合格 且 不良数 大于 5" (``words``: op(o), yes, no, and, label(l, fallback)). */
export function conditionText(rows, fieldOf, words) {
  return rows.map((r) => {
    const f = fieldOf(r.field)
    const kind = kindOf(f)
    let v = r.value
    if (kind === 'choice' || kind === 'multi') {
      const o = (f.options || []).find((x) => x.value === r.value)
      v = o ? words.label(o.label, o.value) : r.value
    } else if (kind === 'boolean' || r.value === 'True' || r.value === 'False') v = r.value === 'True' ? words.yes : words.no
    else if (kind === 'picker') v = r.display || `#${r.value}`
    return `${words.label(f.label, r.field)} ${words.op(r.op)} ${v}`
  }).join(` ${words.and} `)
}

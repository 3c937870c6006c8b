// Inspection entry (检验录入): what a cell shows while the inspector types, before the server answers.
// The server decides again on save and on judge (engines/quality/sample_grid.py); the rules are the same:
// a numeric reading conforms when it lies in [LSL, USL] (a missing limit does not bound), an attribute cell
// when it is marked pass — on a c or u chart, a unit with 0 defects passes and one with any fails; a sample
// counts once per class when any characteristic of that class fails.

export const CLASSES = ['critical', 'major', 'minor']

/** The key of a cell in the entry's local state. */
export const cellKey = (sampleNo, seq) => `${sampleNo}:${seq}`

/** A typed reading as a number: '' -> null; a comma is a decimal point (a phone keypad in some locales);
 * anything else that is not a finite number -> NaN. */
export function parseReading(text) {
  if (text === null || text === undefined) return null
  const s = String(text).trim().replace(/\uff0c|,/g, '.')   // a full-width comma too
  if (s === '') return null
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return NaN
  const n = Number(s)
  return Number.isFinite(n) && Math.abs(n) < 1e12 ? n : NaN
}

/** An attribute characteristic charted c or u: each unit's reading is its number of defects (缺陷数). */
export const countsDefects = (ch) => Boolean(ch && ch.kind === 'attribute' && ch.counts_defects)

export const MAX_DEFECTS = 10000

/** A typed number of defects: '' -> null; a whole number 0–10000 ('3.0' is 3); anything else -> NaN. */
export function parseCount(text) {
  const v = parseReading(text)
  if (v === null || Number.isNaN(v)) return v
  return Number.isInteger(v) && v >= 0 && v <= MAX_DEFECTS ? v : NaN
}

/** The patch of a defect-count cell when she types `text`: a unit without defects passes, one with any fails
 * (as the server decides when no pass/fail is sent); the defect code only stays on a failed unit. */
export function countPatch(text, cell) {
  const v = parseCount(text)
  const ok = v === null || Number.isNaN(v) ? null : v === 0
  return { value: text, ok, defect_code: ok === false ? (cell?.defect_code ?? null) : null }
}

/** 'ok' | 'bad' | 'empty' | 'invalid' for a cell {value (typed text), ok} of characteristic ch. */
export function cellState(ch, cell) {
  if (!cell) return 'empty'
  if (countsDefects(ch)) {
    const v = parseCount(cell.value)
    if (Number.isNaN(v)) return 'invalid'
    if (cell.ok === true || cell.ok === false) return cell.ok ? 'ok' : 'bad'
    return v === null ? 'empty' : v === 0 ? 'ok' : 'bad'
  }
  if (ch.kind === 'attribute') return cell.ok === true ? 'ok' : cell.ok === false ? 'bad' : 'empty'
  const v = parseReading(cell.value)
  if (v === null) return 'empty'
  if (Number.isNaN(v)) return 'invalid'
  const low = ch.lsl === null || ch.lsl === undefined || v >= ch.lsl
  const high = ch.usl === null || ch.usl === undefined || v <= ch.usl
  return low && high ? 'ok' : 'bad'
}

/** Is sample s read for characteristic ch? Each defect class draws its own n samples (sizes: class -> n). */
export const isRequired = (ch, s, sizes) => s <= (sizes[ch.defect_class] || 0)

/** Nonconforming samples per class among that class's samples 1…n: {critical, major, minor}. */
export function classDefects(chars, cells, sizes) {
  const out = { critical: 0, major: 0, minor: 0 }
  for (const k of CLASSES) {
    const mine = chars.filter((ch) => ch.defect_class === k)
    for (let s = 1; s <= (sizes[k] || 0); s++) {
      if (mine.some((ch) => cellState(ch, cells[cellKey(s, ch.seq)]) === 'bad')) out[k] += 1
    }
  }
  return out
}

/** How many sampled positions still have no (valid) reading. */
export function missingCount(chars, cells, sizes) {
  const top = Math.max(0, ...Object.values(sizes))
  let m = 0
  for (let s = 1; s <= top; s++) {
    for (const ch of chars) if (isRequired(ch, s, sizes) && ['empty', 'invalid'].includes(cellState(ch, cells[cellKey(s, ch.seq)]))) m += 1
  }
  return m
}

/** The next cell after (s, i) when Enter is pressed: down the column on a table (a gauge fills a column),
 * along the sample on a phone card; wraps to the next column / sample; null after the last. */
export function nextCell(s, i, n, width, { byColumn }) {
  if (byColumn) {
    if (s < n) return [s + 1, i]
    return i + 1 < width ? [1, i + 1] : null
  }
  if (i + 1 < width) return [s, i + 1]
  return s < n ? [s + 1, 0] : null
}

/** The limits of a characteristic in words-free form: '9.95 – 10.05 mm', '≥ 5', '≤ 0.2'. */
export function limitsText(ch) {
  const u = ch.unit ? ` ${ch.unit}` : ''
  const has = (x) => x !== null && x !== undefined
  if (has(ch.lsl) && has(ch.usl)) return `${ch.lsl} – ${ch.usl}${u}`
  if (has(ch.lsl)) return `≥ ${ch.lsl}${u}`
  if (has(ch.usl)) return `≤ ${ch.usl}${u}`
  return ''
}

/** Whether two cells hold the same reading: numbers compared as numbers ('10.0' is 10), pass/fail only for
 * an attribute characteristic (a numeric one's follows from its value). */
export function sameCell(kind, a, b) {
  a = a || {}
  b = b || {}
  const va = parseReading(a.value)
  const vb = parseReading(b.value)
  const values = Number.isNaN(va) || Number.isNaN(vb) ? String(a.value ?? '') === String(b.value ?? '') : va === vb
  return values && (kind !== 'attribute' || (a.ok ?? null) === (b.ok ?? null)) &&
    (a.defect_code ?? null) === (b.defect_code ?? null) && (a.note || '') === (b.note || '')
}

/** The cells of the local state that differ from what the server holds, as a save body's cells. */
export function changedCells(cells, saved, chars) {
  const kinds = Object.fromEntries(chars.map((c) => [c.seq, c.kind]))
  const counting = new Set(chars.filter(countsDefects).map((c) => c.seq))
  const out = []
  for (const [key, c] of Object.entries(cells)) {
    const [s, seq] = key.split(':').map(Number)
    if (!(seq in kinds) || sameCell(kinds[seq], c, saved[key])) continue
    const v = counting.has(seq) ? parseCount(c.value) : parseReading(c.value)
    if (Number.isNaN(v)) continue                   // not sent until it is a number (the cell says so)
    if (counting.has(seq)) {                        // the number of defects, and pass/fail as the cell shows it
      out.push({ sample_no: s, char_seq: seq, value: v, ok: c.ok ?? null, defect_code: c.ok === false ? (c.defect_code ?? null) : null, note: c.note || null })
      continue
    }
    out.push(kinds[seq] === 'attribute'
      ? { sample_no: s, char_seq: seq, ok: c.ok ?? null, defect_code: c.ok === false ? (c.defect_code ?? null) : null, note: c.note || null }
      : { sample_no: s, char_seq: seq, value: v, defect_code: c.defect_code ?? null, note: c.note || null })
  }
  return out
}

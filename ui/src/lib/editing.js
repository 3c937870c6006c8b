// What the record page may change, and datetimes in the plant's clock.
//
// A record page shows 保存 only when the user may change at least one field: a form whose every
// field is read-only to them (their field rules, formulas, auto-numbers once saved) is only read.
// Datetimes are stored in UTC; the page shows and picks them on the plant's wall clock (GET
// /api/auth/me carries "timezone"); a picked time goes back without an offset, which the server
// reads in the plant's zone.

/** Whether a field of the record page can be changed by this user.
 * @param {{ key: string, type: string, read_only?: boolean, hidden?: boolean }} f
 * @param {string[]} readOnlyFields the form's read_only_fields for this user
 * @param {boolean} editing an existing record (an auto-number is then fixed) @returns {boolean} */
export function isChangeable(f, readOnlyFields = [], editing = false) {
  if (f.hidden || f.read_only || readOnlyFields.includes(f.key)) return false
  if (f.type === 'formula') return false
  if (f.type === 'autonumber') return !editing
  return true
}

/** Whether any field of ``definition`` can be changed by this user (see isChangeable).
 * @param {{ fields?: object[] } | null | undefined} definition @param {string[]} readOnlyFields
 * @param {boolean} editing @returns {boolean} */
export function anyChangeable(definition, readOnlyFields = [], editing = false) {
  return (definition?.fields || []).some((f) => isChangeable(f, readOnlyFields, editing))
}

function parts(d, timeZone) {
  const fmt = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }
  let list
  try { list = new Intl.DateTimeFormat('en-GB', { ...fmt, timeZone: timeZone || undefined }).formatToParts(d) } catch (e) {
    list = new Intl.DateTimeFormat('en-GB', fmt).formatToParts(d)   // an unknown zone name: the browser's
  }
  return Object.fromEntries(list.map((x) => [x.type, x.value]))
}

/** An API datetime (UTC ISO) on the plant's wall clock, 'YYYY-MM-DDTHH:mm:ss' without an offset (what a
 * date picker shows and gives back); a value without an offset is already on that clock; null for none.
 * @param {string | null | undefined} iso @param {string | null | undefined} timeZone @returns {string | null} */
export function plantWallClock(iso, timeZone) {
  if (iso == null || iso === '') return null
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(String(iso))) return String(iso)
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return String(iso)
  const p = parts(d, timeZone)
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`
}

/** A datetime as a read-only field shows it: 'YYYY-MM-DD HH:mm' in the plant's zone; '' for none.
 * @param {string | null | undefined} iso @param {string | null | undefined} timeZone @returns {string} */
export function plantDateTime(iso, timeZone) {
  const wall = plantWallClock(iso, timeZone)
  return wall ? wall.slice(0, 16).replace('T', ' ') : ''
}

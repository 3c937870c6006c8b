// The form designer's problems in the user's words: named by the field's label ("字段「判定」至少需要
// 两个选项"), never a JSON pointer or a schema message; the designer's own checks for what a user
// typically leaves half done, then the server's problems mapped to the field they belong to.
import { L, tr } from '../i18n.js'

const label = (f) => L(f?.label, '') || tr(`fieldType.${f?.type}`)

/** The designer's own checks of a definition: [{ field: id|null, text }]. */
export function localProblems(def) {
  const out = []
  if (!(L(def.label, '') || '').trim()) out.push({ field: null, text: tr('nocode.needTitle') })
  if (!(def.fields || []).length) out.push({ field: null, text: tr('nocode.noFields') })
  const check = (f) => {
    const say = (key, params) => out.push({ field: f.id, text: tr('nocode.fieldSays', { label: label(f), msg: tr(key, params) }) })
    if (!(f.label?.['zh-CN'] || '').trim()) say('nocode.needLabel')
    if (['select', 'multi_select'].includes(f.type)) {
      const opts = f.options || []
      if (opts.length < 2) say('nocode.twoOptions')
      opts.forEach((o, i) => { if (typeof o === 'object' && !(o.label?.['zh-CN'] || '').trim()) say('nocode.optionLabel', { n: i + 1 }) })
    }
    if (f.type === 'reference' && !f.form) say('nocode.pickForm')
    if (f.type === 'formula' && !(f.formula || '').trim()) say('nocode.needFormula')
    if (f.type === 'table' && !(f.fields || []).length) say('nocode.tableEmpty')
  }
  for (const f of def.fields || []) { check(f); for (const c of f.fields || []) check(c) }
  return out
}

const PLAIN = { '/fields': 'nocode.noFields', '/name': null, '/label': 'nocode.needTitle' }

/** The server's problems (JSON pointers) as [{ field: id|null, text }]; those the local checks say already are dropped. */
export function serverProblems(problems, def, local = []) {
  const out = []
  const said = new Set(local.map((p) => p.field))
  for (const p of problems || []) {
    const m = /^\/fields\/(\d+)(?:\/fields\/(\d+))?(\/.*)?$/.exec(p.path || '')
    if (!m) {
      const key = PLAIN[p.path]
      if (key === null || (key && local.some((x) => x.text === tr(key)))) continue
      out.push({ field: null, text: key ? tr(key) : L(p.message) })
      continue
    }
    const parent = def.fields?.[Number(m[1])]
    const f = m[2] !== undefined ? parent?.fields?.[Number(m[2])] : parent
    if (!f || said.has(f.id)) continue
    const what = (m[3] || '').startsWith('/key') ? tr('nocode.keyProblem') : L(p.message)
    out.push({ field: f.id, text: tr('nocode.fieldSays', { label: label(f), msg: what }) })
  }
  return out.filter((p, i) => out.findIndex((q) => q.field === p.field && q.text === p.text) === i)
}

// The pack manager screen's pure parts: a pack's state and actions, a plan grouped for reading, the
// identifier of an exported pack made from the label the user typed (she never types one herself).

// The kinds of definitions in the order a supervisor reads a plan (forms first, roles last).
export const KINDS = ['forms', 'workflows', 'rules', 'reports', 'dashboards', 'prints', 'roles']

// How a change looks: an Element Plus tag type per plan change.
export const CHANGE_TAG = {
  added: 'success', changed: 'primary', unchanged: 'info', kept: 'warning', merged: 'primary',
  retired: 'warning', restored: 'success', purged: 'danger', conflict: 'danger',
}

/** The state shown in the list: installed packs with a newer version found are 'upgradable'. */
export function packState(p) {
  if (p.status === 'installed') return p.upgradable ? 'upgradable' : 'installed'
  return p.status === 'uninstalled' ? 'uninstalled' : 'available'
}

/** The actions a row offers, in order. */
export function packActions(p) {
  if (p.status !== 'installed') return p.version ? ['install'] : []
  return p.upgradable ? ['upgrade', 'uninstall'] : ['uninstall']
}

/** "1.0.0 → 1.1.0" when a different version is found, else the one version there is. */
export function versionText(p) {
  const have = p.status === 'installed' ? p.installed_version : null
  if (have && p.version && p.version !== have) return `${have} → ${p.version}`
  return have || p.version || p.installed_version || ''
}

/**
 * A plan's items by kind, in KINDS order (unknown kinds after them): the changed items to read, the
 * unchanged ones without details apart (a long upgrade is mostly "unchanged").
 * @returns {{ kind: string, kind_label: any, changed: any[], unchanged: any[] }[]}
 */
export function planGroups(items) {
  const groups = new Map()
  for (const it of items || []) {
    if (!groups.has(it.kind)) groups.set(it.kind, { kind: it.kind, kind_label: it.kind_label, changed: [], unchanged: [] })
    groups.get(it.kind)[it.change === 'unchanged' && !it.details?.length ? 'unchanged' : 'changed'].push(it)
  }
  const rank = (k) => (KINDS.includes(k) ? KINDS.indexOf(k) : KINDS.length)
  return [...groups.values()].sort((a, b) => rank(a.kind) - rank(b.kind) || a.kind.localeCompare(b.kind))
}

/**
 * A pack identifier (^[a-z][a-z0-9_]*$) from the label the user typed: its Latin letters and digits as
 * snake_case words ("质量 QC Pack 2" -> "qc_pack_2"); "plant_config" when there are none to use.
 */
export function packName(...labels) {
  for (const label of labels) {
    const words = String(label || '').toLowerCase().match(/[a-z0-9]+/g) || []
    const name = words.join('_').replace(/^[0-9_]+/, '').slice(0, 40).replace(/_+$/, '')
    if (/^[a-z][a-z0-9_]*$/.test(name)) return name
  }
  return 'plant_config'
}

/** A conflicting value as one short line: labels in the current language, other values as compact JSON. */
export function valueText(v, L, empty = '—', max = 200) {
  if (v === null || v === undefined || v === '') return empty
  if (typeof v === 'object' && !Array.isArray(v) && ('zh-CN' in v || 'en' in v)) return L(v)
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

// Where a plan's conflicting definition is edited: its designer, by kind (rules and roles have none).
const DESIGNERS = { forms: 'form', workflows: 'flow', reports: 'report', dashboards: 'dashboard' }

/** The designer route of a definition of ``kind`` (a plan's conflict), or null when it has no designer. */
export function designerPath(kind, name) {
  return DESIGNERS[kind] && name ? `/design/${DESIGNERS[kind]}/${encodeURIComponent(name)}` : null
}

/** The forms whose records an uninstall with purge deletes: the plan's purged form items (records list: /f/<name>). */
export function purgedForms(plan) {
  return (plan?.items || []).filter((it) => it.kind === 'forms' && it.change === 'purged')
}

/**
 * Whether what a supervisor typed names the pack about to lose its data: its Chinese or English label
 * or its name, spaces around and letter case aside.
 */
export function namesPack(typed, plan) {
  const s = String(typed || '').trim().toLowerCase()
  if (!s || !plan) return false
  const label = plan.label && typeof plan.label === 'object' ? Object.values(plan.label) : [plan.label]
  return [...label, plan.pack].some((x) => typeof x === 'string' && x.trim().toLowerCase() === s)
}

/** A server time (ISO 8601) as the reader's local "YYYY-MM-DD HH:mm"; '' when there is none or it is unreadable. */
export function timeText(iso) {
  const d = iso ? new Date(iso) : null
  if (!d || Number.isNaN(d.getTime())) return ''
  const p = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}

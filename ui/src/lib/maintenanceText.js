// The maintenance screens' words: the locale files' `maintenance.*` keys (zh-CN first, English second).
import { both, i18n, tr } from '../i18n.js'

/** The text of ``maintenance.<key>`` in the current language, ``{name}`` filled from ``vars``. */
export function mt(key, vars = {}) {
  return tr(`maintenance.${key}`, vars)
}

/** Minutes as 1 h 05 min / 12 min. */
export function duration(min, en = i18n.global.locale.value === 'en') {
  if (min == null) return ''
  const m = Math.max(0, Math.round(min))
  const h = Math.floor(m / 60)
  const text = h ? both('maintenance.dur.hm', { h, mm: String(m % 60).padStart(2, '0') }) : both('maintenance.dur.m', { m })
  return text[en ? 'en' : 'zh-CN']
}

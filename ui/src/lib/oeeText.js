// Words of the OEE screens (安灯看板, OEE 分析, 待分类停机): the locale files' `oee.*` keys, each as
// {"zh-CN": …, "en": …} so the screens read them through L() in the current language.
import { both, messages } from '../i18n.js'

const SECTION = messages['zh-CN'].oee
const pairs = (prefix, keys) => Object.fromEntries(keys.map((k) => [k, both(`${prefix}.${k}`)]))

export const STATE = pairs('oee.state', Object.keys(SECTION.state))
export const STATE_COLOR = {
  running: '#1f9d55', idle: '#d69e2e', down: '#e53e3e', setup: '#3182ce', planned_stop: '#718096', none: '#4a5568',
}
export const W = pairs('oee', Object.keys(SECTION).filter((k) => typeof SECTION[k] === 'string'))

// seconds as 1小时5分 / 1h 5m
export function duration(seconds, zh = true) {
  const m = Math.max(0, Math.round(seconds / 60))
  const h = Math.floor(m / 60)
  const text = h ? both('oee.dur.hm', { h, m: m % 60 }) : both('oee.dur.m', { m })
  return text[zh ? 'zh-CN' : 'en']
}

// the plant's wall-clock parts of a time the server gave with the plant's offset (2026-12-01T08:05:00+08:00):
// the same on every screen whatever the browser's time zone
export const plantHm = (iso) => (iso ? String(iso).slice(11, 16) : '')
export const plantDay = (iso) => (iso ? String(iso).slice(0, 10) : '')

export function pct(v) {
  return v == null ? '—' : `${(v * 100).toFixed(1)}%`
}

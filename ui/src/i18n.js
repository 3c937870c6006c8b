import { createI18n } from 'vue-i18n'
import zhCN from './locales/zh-CN.js'
import en from './locales/en.js'

// One message file per language in locales/: zh-CN first, en second (same keys; a vitest test checks it).
// Labels from definitions ({zh-CN, en}) go through L(); new definition labels come from both().
export const messages = { 'zh-CN': zhCN, en }
export const LOCALES = Object.keys(messages)

export const i18n = createI18n({
  legacy: false,
  locale: globalThis.localStorage?.getItem('mom.lang') || 'zh-CN',   // (no storage when unit-tested in Node)
  fallbackLocale: 'zh-CN',
  messages,
})

export function setLocale(l) {
  i18n.global.locale.value = l
  localStorage.setItem('mom.lang', l)
  document.documentElement.lang = l
}

// A definition's label ({"zh-CN": …, "en": …} or a string) in the current language.
export function L(label, fallback = '') {
  if (label == null) return fallback
  if (typeof label === 'string') return label
  const loc = i18n.global.locale.value
  return label[loc] || label['zh-CN'] || label.en || fallback
}

// An API error (or any error) as a sentence in the current language.
export function errText(e) {
  if (e?.status === 0) return tr('app.unreachable')
  if (e && typeof e.text === 'function') return e.text(i18n.global.locale.value)
  return String(e?.message || e)
}

export function problemText(p) {
  return `${p.path ? p.path + ': ' : ''}${L(p.message)}`
}

// The problems of a failed API call, or one problem carrying its message (designers list them).
export function problemsOf(e) {
  return e?.problems?.length ? e.problems : [{ path: '', message: e?.body?.message || errText(e) }]
}

// A label for a new definition in every language ({"zh-CN": "组件3", "en": "Widget 3"}), from one message key.
export function both(key, params = {}) {
  const text = (loc) => key.split('.').reduce((o, k) => o?.[k], messages[loc]) ?? key
  return Object.fromEntries(LOCALES.map((loc) => [loc, text(loc).replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m))]))
}

// A message in the current language, outside components (libraries, the API wrapper).
export const tr = (key, params) => i18n.global.t(key, params || {})

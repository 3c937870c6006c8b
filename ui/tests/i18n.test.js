// Every word a user reads comes from the locale files (src/locales/, zh-CN first, en second):
// no Chinese literal elsewhere under src/, and both languages have the same keys.
import { describe, expect, it } from 'vitest'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import zhCN from '../src/locales/zh-CN.js'
import en from '../src/locales/en.js'
import { both, i18n, tr } from '../src/i18n.js'
import { fieldText } from '../src/lib/format.js'

const SRC = join(__dirname, '..', 'src')
// CJK ideographs, CJK punctuation (，。：；、（）「」) and full-width forms.
const CJK = /[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]/
// file (relative to src/) -> why a Chinese literal may stay there. Keep it empty unless there is a reason.
const ALLOWED = {}

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'locales' && dir === SRC ? [] : sources(path)
    return /\.(vue|js)$/.test(name) ? [path] : []
  })
}

// Comments may quote Chinese (an example of a server message); only code and templates count.
function withoutComments(text) {
  return text
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n').map((line) => line.replace(/(^|\s)\/\/.*$/, '$1')).join('\n')
}

function keys(messages, prefix = '') {
  return Object.entries(messages).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]))
}

describe('locale files', () => {
  it('no Chinese literal in a .vue/.js file outside src/locales/', () => {
    const found = []
    for (const path of sources(SRC)) {
      const rel = relative(SRC, path).replaceAll('\\', '/')
      if (ALLOWED[rel]) continue
      withoutComments(readFileSync(path, 'utf8')).split('\n').forEach((line, i) => {
        if (CJK.test(line)) found.push(`${rel}:${i + 1}: ${line.trim()}`)
      })
    }
    expect(found).toEqual([])
  })

  it('zh-CN and en have the same keys, none empty', () => {
    expect(keys(en).sort()).toEqual(keys(zhCN).sort())
    const empty = (m) => keys(m).filter((k) => k.split('.').reduce((o, p) => o[p], m) === '')
    expect(empty(zhCN)).toEqual([])
    expect(empty(en)).toEqual([])
  })

  it('the test sees a Chinese literal and skips comments', () => {
    expect(CJK.test(withoutComments("const a = '合格' // 合格"))).toBe(true)
    expect(CJK.test(withoutComments("const a = 1 // 合格\n/* 合格 */ <!-- 合格 -->"))).toBe(false)
    expect(CJK.test('（1）')).toBe(true)
  })

  it('builds bilingual labels for new definitions, and separators per language', () => {
    expect(both('designer.widgetN', { n: 3 })).toEqual({ 'zh-CN': '组件3', en: 'Widget 3' })
    expect(tr('app.withCount', { what: tr('list.filter'), n: 2 })).toBe('筛选（2）')
    expect(fieldText({ type: 'boolean' }, true)).toBe('是')
    expect(tr('app.listSep')).toBe('、')
    i18n.global.locale.value = 'en'
    try {
      expect(tr('app.withCount', { what: tr('list.filter'), n: 2 })).toBe('Filter (2)')
      expect([1, 2].join(tr('app.listSep'))).toBe('1, 2')
      expect(fieldText({ type: 'boolean' }, false)).toBe('No')
    } finally { i18n.global.locale.value = 'zh-CN' }
  })
})

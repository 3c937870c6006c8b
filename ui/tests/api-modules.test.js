// Views and components talk to the platform through the typed modules in src/api/ (one per area),
// never with a raw '/api/…' path of their own.
import { describe, expect, it } from 'vitest'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const SRC = join(__dirname, '..', 'src')
const RAW = /['"`]\/api\b/

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return path === join(SRC, 'api') ? [] : sources(path)
    return /\.(vue|js)$/.test(name) ? [path] : []
  })
}

describe('API modules', () => {
  it("no raw '/api' path outside src/api/", () => {
    const found = []
    for (const path of sources(SRC)) {
      readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
        if (RAW.test(line)) found.push(`${relative(SRC, path)}:${i + 1}: ${line.trim()}`)
      })
    }
    expect(found).toEqual([])
  })

  it('every module under src/api/ is type-checked JavaScript with documented exports', () => {
    for (const name of readdirSync(join(SRC, 'api'))) {
      const text = readFileSync(join(SRC, 'api', name), 'utf8')
      expect(text.startsWith('// @ts-check'), name).toBe(true)
      const lines = text.split('\n')
      lines.forEach((line, i) => {
        if (/^export (const|async function|function|class) /.test(line)) {
          expect(lines[i - 1].trim().endsWith('*/'), `${name}:${i + 1} ${line}`).toBe(true)
        }
      })
    }
  })

  it('the test sees a raw path', () => {
    expect(RAW.test("get('/api/forms')")).toBe(true)
    expect(RAW.test('get(`/api/forms/${name}`)')).toBe(true)
    expect(RAW.test('// GET /api/attachments/{id}/meta')).toBe(false)
  })
})

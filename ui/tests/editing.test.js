// The record page's own rules: 保存 only when something can change; datetimes on the plant's clock.
import { describe, expect, it } from 'vitest'
import { anyChangeable, isChangeable, plantDateTime, plantWallClock } from '../src/lib/editing.js'

describe('anyChangeable', () => {
  const defn = { fields: [{ key: 'code', type: 'autonumber' }, { key: 'total', type: 'formula' }, { key: 'note', type: 'text' }] }
  it('is true while one field can be changed', () => {
    expect(anyChangeable(defn, [], true)).toBe(true)
    expect(anyChangeable(defn, ['code'], false)).toBe(true)
  })
  it('is false when every field is read-only to the user', () => {
    expect(anyChangeable(defn, ['note'], true)).toBe(false)
    expect(anyChangeable({ fields: [{ key: 'a', type: 'text', read_only: true }, { key: 'b', type: 'text', hidden: true }] })).toBe(false)
    expect(anyChangeable(null)).toBe(false)
  })
  it('fixes an auto-number once the record exists', () => {
    expect(isChangeable({ key: 'code', type: 'autonumber' }, [], false)).toBe(true)
    expect(isChangeable({ key: 'code', type: 'autonumber' }, [], true)).toBe(false)
  })
})

describe('plant clock', () => {
  it('shows a UTC time on the plant wall clock', () => {
    expect(plantWallClock('2026-12-03T01:00:00Z', 'Asia/Shanghai')).toBe('2026-12-03T09:00:00')
    expect(plantDateTime('2026-12-02T17:30:00Z', 'Asia/Shanghai')).toBe('2026-12-03 01:30')
    expect(plantDateTime('2026-12-03T01:00:00+00:00', 'UTC')).toBe('2026-12-03 01:00')
  })
  it('keeps a picked time (no offset) as it is, and nothing as nothing', () => {
    expect(plantWallClock('2026-12-03T09:00:00', 'Asia/Shanghai')).toBe('2026-12-03T09:00:00')
    expect(plantWallClock(null, 'Asia/Shanghai')).toBe(null)
    expect(plantDateTime('', 'Asia/Shanghai')).toBe('')
  })
})

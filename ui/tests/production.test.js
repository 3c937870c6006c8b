// The shop floor's own rules before it asks the server: which buttons a task shows, one idempotency key
// per tap (also where crypto.randomUUID is missing: plain http on a LAN), quantities as typed on a phone,
// times in the plant's zone.
import { describe, expect, it } from 'vitest'
import { allowedEvents, newClientId, plantTime, quantity } from '../src/api/production.js'

describe('allowedEvents', () => {
  it('shows only the buttons the engine accepts for the status', () => {
    expect(allowedEvents('ready')).toEqual(['start', 'report', 'finish'])
    expect(allowedEvents('running')).toEqual(['pause', 'report', 'finish'])
    expect(allowedEvents('paused')).toEqual(['resume', 'report', 'finish'])
    expect(allowedEvents('waiting')).toEqual([])
    expect(allowedEvents('done')).toEqual([])
  })
})

describe('newClientId', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
  it('uses crypto.randomUUID when there is one', () => {
    expect(newClientId({ randomUUID: () => 'abc' })).toBe('abc')
  })
  it('makes a v4 UUID from random bytes without randomUUID (plain http)', () => {
    let n = 0
    const c = { getRandomValues: (a) => a.map(() => (n += 37) % 256) }
    expect(newClientId(c)).toMatch(UUID)
  })
  it('is different on every tap, even without any crypto', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newClientId(undefined)))
    expect(ids.size).toBe(200)
    expect([...ids].every((x) => x.length <= 64)).toBe(true)      // job_report.client_id max_length
  })
})

describe('quantity', () => {
  it('reads what a keypad or a Chinese input method types', () => {
    expect(quantity('10')).toBe(10)
    expect(quantity(' 2.5 ')).toBe(2.5)
    expect(quantity('2,5')).toBe(2.5)
    expect(quantity('\uff11\uff12')).toBe(12)          // full-width digits
    expect(quantity('')).toBe(0)
  })
  it('refuses what is not a quantity', () => {
    expect(quantity('-1')).toBeNaN()
    expect(quantity('1e3')).toBeNaN()
    expect(quantity('abc')).toBeNaN()
  })
})

describe('plantTime', () => {
  it('shows a UTC time as the plant reads it', () => {
    expect(plantTime('2026-12-15T09:00:00Z', 'Asia/Shanghai')).toBe('12-15 17:00')
    expect(plantTime('2026-12-31T20:30:00Z', 'Asia/Shanghai', { year: true })).toBe('2027-01-01 04:30')
    expect(plantTime('2026-12-15T09:00:00Z', 'Europe/Berlin')).toBe('12-15 10:00')
  })
  it('shows nothing for no time, and survives an unknown zone', () => {
    expect(plantTime(null, 'Asia/Shanghai')).toBe('')
    expect(plantTime('2026-12-15T09:00:00Z', 'Mars/Olympus')).toMatch(/^12-15 \d\d:00$/)
  })
})

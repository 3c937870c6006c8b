import { describe, expect, it } from 'vitest'
import { cellState, changedCells, classDefects, limitsText, missingCount, nextCell, parseReading } from '../src/lib/inspection.js'

const OD = { seq: 1, name: 'od', kind: 'numeric', defect_class: 'major', lsl: 9.95, usl: 10.05, unit: 'mm' }
const SCRATCH = { seq: 2, name: 'scratch', kind: 'attribute', defect_class: 'minor', lsl: null, usl: null }
const HARD = { seq: 3, name: 'hardness', kind: 'numeric', defect_class: 'major', lsl: 200, usl: null }

describe('inspection entry', () => {
  it('reads what a gauge or a phone keypad types', () => {
    expect(parseReading('10.01')).toBe(10.01)
    expect(parseReading(' 9,98 ')).toBe(9.98)
    expect(parseReading('')).toBe(null)
    expect(Number.isNaN(parseReading('1O.0'))).toBe(true)
    expect(Number.isNaN(parseReading('1e13'))).toBe(true)
  })

  it('a cell turns red outside [LSL, USL], the limits included', () => {
    expect(cellState(OD, { value: '10.05' })).toBe('ok')
    expect(cellState(OD, { value: '9.95' })).toBe('ok')
    expect(cellState(OD, { value: '10.06' })).toBe('bad')
    expect(cellState(HARD, { value: '180' })).toBe('bad')
    expect(cellState(HARD, { value: '99999' })).toBe('ok')
    expect(cellState(OD, { value: 'x' })).toBe('invalid')
    expect(cellState(SCRATCH, { ok: false })).toBe('bad')
    expect(cellState(SCRATCH, { ok: null })).toBe('empty')
  })

  it('a sample counts once per class', () => {
    const cells = { '1:1': { value: '10.2' }, '1:3': { value: '150' }, '2:1': { value: '10' }, '2:2': { ok: false }, '3:2': { ok: true } }
    const all = { major: 3, minor: 3 }
    expect(classDefects([OD, SCRATCH, HARD], cells, all)).toEqual({ critical: 0, major: 1, minor: 1 })
    expect(missingCount([OD, SCRATCH, HARD], cells, all)).toBe(4)
    // minor defects draw 1 sample only (their own code letter's n): sample 2's scratch is not counted, nor missed
    expect(classDefects([OD, SCRATCH, HARD], cells, { major: 3, minor: 1 })).toEqual({ critical: 0, major: 1, minor: 0 })
    expect(missingCount([OD, SCRATCH, HARD], cells, { major: 3, minor: 1 })).toBe(4)   // 3:1, 2:3, 3:3 and 1:2
  })

  it('Enter goes down a column on the table and along a sample on a phone', () => {
    expect(nextCell(1, 0, 3, 2, { byColumn: true })).toEqual([2, 0])
    expect(nextCell(3, 0, 3, 2, { byColumn: true })).toEqual([1, 1])
    expect(nextCell(3, 1, 3, 2, { byColumn: true })).toBe(null)
    expect(nextCell(1, 1, 3, 2, { byColumn: false })).toEqual([2, 0])
  })

  it('sends only the changed cells, numbers as numbers, and not a typo', () => {
    const cells = { '1:1': { value: '10.01' }, '2:1': { value: '9.9' }, '3:1': { value: 'x' }, '1:2': { ok: false, defect_code: 7 } }
    const saved = { '1:1': { value: 10.01 } }
    expect(changedCells(cells, saved, [OD, SCRATCH])).toEqual([
      { sample_no: 2, char_seq: 1, value: 9.9, defect_code: null, note: null },
      { sample_no: 1, char_seq: 2, ok: false, defect_code: 7, note: null }])
    expect(limitsText(OD)).toBe('9.95 – 10.05 mm')
    expect(limitsText(HARD)).toBe('≥ 200')
  })
})

describe('inspection entry: the same reading', () => {
  it('10.0 typed is the 10 the server holds; pass/fail only counts for attribute cells', async () => {
    const { sameCell } = await import('../src/lib/inspection.js')
    expect(sameCell('numeric', { value: '10.0', ok: null }, { value: '10', ok: true })).toBe(true)
    expect(sameCell('numeric', { value: '10.01' }, { value: '10' })).toBe(false)
    expect(sameCell('attribute', { value: '', ok: false }, { value: '', ok: true })).toBe(false)
    expect(sameCell('numeric', { value: '' }, undefined)).toBe(true)
    expect(parseReading('9\uff0c98')).toBe(9.98)
  })
})

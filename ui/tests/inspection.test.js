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

describe('inspection entry: defects per unit on a c / u chart', () => {
  // a c-chart characteristic takes each unit's number of defects (engines/quality/sample_grid.py): 0 passes, any fails
  const SOLDER = { seq: 4, name: 'solder', kind: 'attribute', defect_class: 'major', lsl: null, usl: null, counts_defects: true }

  it('a whole number 0–10000; a unit with defects is nonconforming', async () => {
    const { countPatch, parseCount } = await import('../src/lib/inspection.js')
    expect(parseCount('3')).toBe(3)
    expect(parseCount('3.0')).toBe(3)
    expect(parseCount('')).toBe(null)
    for (const bad of ['2.5', '-1', '10001', 'x']) expect(Number.isNaN(parseCount(bad))).toBe(true)
    expect(cellState(SOLDER, countPatch('0'))).toBe('ok')
    expect(cellState(SOLDER, countPatch('2'))).toBe('bad')
    expect(cellState(SOLDER, countPatch('2.5'))).toBe('invalid')
    expect(cellState(SOLDER, countPatch(''))).toBe('empty')
    expect(countPatch('0', { defect_code: 7 }).defect_code).toBe(null)       // no defects, no defect code
    expect(countPatch('2', { defect_code: 7 }).defect_code).toBe(7)
    // a fail mark without a number (entered elsewhere) still fails
    expect(cellState(SOLDER, { value: '', ok: false })).toBe('bad')
  })

  it('counts once per unit in the class, and sends the number with its pass/fail', async () => {
    const { countPatch } = await import('../src/lib/inspection.js')
    const cells = { '1:4': countPatch('3'), '2:4': countPatch('0'), '3:4': countPatch('1'), '1:1': { value: '10.2' } }
    expect(classDefects([OD, SOLDER], cells, { major: 3 })).toEqual({ critical: 0, major: 2, minor: 0 })
    expect(missingCount([OD, SOLDER], cells, { major: 3 })).toBe(2)          // 2:1 and 3:1
    const sent = changedCells({ ...cells, '4:4': countPatch('1.5') }, { '2:4': { value: 0, ok: true } }, [OD, SOLDER])
    expect(sent.filter((c) => c.char_seq === 4)).toEqual([
      { sample_no: 1, char_seq: 4, value: 3, ok: false, defect_code: null, note: null },
      { sample_no: 3, char_seq: 4, value: 1, ok: false, defect_code: null, note: null }])
  })
})

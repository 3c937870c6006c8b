// The pack manager screen's pure parts: what a row shows and offers, a plan grouped for reading, and the
// exported pack's identifier made from the label a supervisor typed.
import { describe, expect, it } from 'vitest'
import { designerPath, namesPack, packActions, packName, packState, planGroups, purgedForms, timeText, valueText,
  versionText } from '../src/lib/packs.js'

const pack = (over) => ({ name: 'q', status: 'installed', version: '1.0.0', installed_version: '1.0.0', upgradable: false, ...over })

describe('pack rows', () => {
  it('shows the state and offers only the actions that make sense', () => {
    expect([packState(pack()), packActions(pack())]).toEqual(['installed', ['uninstall']])
    const newer = pack({ version: '1.1.0', upgradable: true })
    expect([packState(newer), packActions(newer), versionText(newer)]).toEqual(['upgradable', ['upgrade', 'uninstall'], '1.0.0 → 1.1.0'])
    const found = pack({ status: 'available', installed_version: null })
    expect([packState(found), packActions(found), versionText(found)]).toEqual(['available', ['install'], '1.0.0'])
    const gone = pack({ status: 'uninstalled', version: null })
    expect([packState(gone), packActions(gone), versionText(gone)]).toEqual(['uninstalled', [], '1.0.0'])
    expect(packActions(pack({ status: 'uninstalled' }))).toEqual(['install'])
  })
})

describe('plan groups', () => {
  it('orders kinds as a supervisor reads them and sets unchanged items apart', () => {
    const it_ = (kind, name, change) => ({ pack: 'q', kind, kind_label: kind, name, label: name, change, details: [] })
    const groups = planGroups([it_('roles', 'r', 'added'), it_('forms', 'a', 'unchanged'), it_('forms', 'b', 'kept'),
      it_('widgets', 'w', 'added'), it_('workflows', 'f', 'merged'), { ...it_('forms', 'c', 'unchanged'), details: ['x'] }])
    expect(groups.map((g) => g.kind)).toEqual(['forms', 'workflows', 'roles', 'widgets'])
    expect(groups[0].changed.map((x) => x.name)).toEqual(['b', 'c'])
    expect(groups[0].unchanged.map((x) => x.name)).toEqual(['a'])
    expect(planGroups(undefined)).toEqual([])
  })
})

describe('exported pack name', () => {
  it('comes from the Latin part of the labels, else plant_config', () => {
    expect(packName('', '一厂质量配置')).toBe('plant_config')
    expect(packName('Plant 1 Quality', '一厂质量配置')).toBe('plant_1_quality')
    expect(packName('', '质量 QC Pack 2')).toBe('qc_pack_2')
    expect(packName('2024 setup')).toBe('setup')
    expect(packName('x'.repeat(60))).toHaveLength(40)
  })
})

describe('conflict values', () => {
  it('labels in the current language, other values as short JSON', () => {
    const L = (l) => l['zh-CN']
    expect(valueText({ 'zh-CN': '数量', en: 'Qty' }, L)).toBe('数量')
    expect(valueText(null, L)).toBe('—')
    expect(valueText({ max: 5 }, L)).toBe('{"max":5}')
    expect(valueText('a'.repeat(300), L)).toHaveLength(200)
  })
})

describe('uninstall with its data', () => {
  const plan = { pack: 'iqc', label: { 'zh-CN': '来料检验', en: 'Incoming QC' }, items: [
    { kind: 'forms', name: 'iqc_lot', change: 'purged' }, { kind: 'forms', name: 'shared', change: 'kept' },
    { kind: 'reports', name: 'iqc_rate', change: 'purged' }] }
  it('is confirmed only by typing the pack\'s label or name', () => {
    expect(namesPack('', plan)).toBe(false)
    expect(namesPack('来料', plan)).toBe(false)
    expect(namesPack(' 来料检验 ', plan)).toBe(true)
    expect(namesPack('incoming qc', plan)).toBe(true)
    expect(namesPack('IQC', plan)).toBe(true)
    expect(namesPack('来料检验', null)).toBe(false)
  })
  it('offers the records of the forms it deletes for export first', () => {
    expect(purgedForms(plan).map((f) => f.name)).toEqual(['iqc_lot'])
    expect(purgedForms(null)).toEqual([])
  })
})

describe('conflict links and times', () => {
  it('leads to the designer of a form, flow or report, and nowhere for a rule', () => {
    expect(designerPath('forms', 'iqc_lot')).toBe('/design/form/iqc_lot')
    expect(designerPath('workflows', 'ncr')).toBe('/design/flow/ncr')
    expect(designerPath('reports', 'iqc_rate')).toBe('/design/report/iqc_rate')
    expect(designerPath('rules', 'r1')).toBeNull()
  })
  it('shows a server time as local minutes, nothing when missing', () => {
    expect(timeText('2026-03-04T05:06:07')).toBe('2026-03-04 05:06')
    expect(timeText(null)).toBe('')
    expect(timeText('not a time')).toBe('')
  })
})

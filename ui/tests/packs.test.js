// The pack manager screen's pure parts: what a row shows and offers, a plan grouped for reading, and the
// exported pack's identifier made from the label a supervisor typed.
import { describe, expect, it } from 'vitest'
import { packActions, packName, packState, planGroups, valueText, versionText } from '../src/lib/packs.js'

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

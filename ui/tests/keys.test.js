import { describe, expect, it, vi } from 'vitest'

vi.mock('../src/api/client.js', () => ({
  // the server's answer (POST /api/designer/keys), as engines/definitions/keys.py gives it for these labels
  post: vi.fn(async (_path, body) => ({ keys: body.labels.map((l, i) => ({ 批次号: 'pi_ci_hao', 判定: 'pan_ding', 炉批号: 'lu_pi_hao' }[l] || `k${i}`)) })),
}))
const { post } = await import('../src/api/client.js')
const { KeyKeeper, renameKey } = await import('../src/lib/keys.js')
const { localProblems, serverProblems } = await import('../src/lib/formcheck.js')

describe('keys follow labels until published or typed', () => {
  it('gives keys to new items, keeps published and typed ones, and asks once per change', async () => {
    const keeper = new KeyKeeper()
    const old = { key: 'pi_ci_hao', label: { 'zh-CN': '炉批号' } }
    const fresh = { key: 'text_1', label: { 'zh-CN': '判定' } }
    keeper.publish(old)
    const run = () => keeper.run('fields', 'field', [old, fresh], (f) => f.label['zh-CN'], (f) => f.key, (f, k) => { f.key = k }, ['pi_ci_hao'])
    await run()
    expect([old.key, fresh.key]).toEqual(['pi_ci_hao', 'pan_ding'])   // a published key stays whatever its label
    expect(post).toHaveBeenCalledTimes(1)
    expect(post.mock.calls[0][1]).toEqual({ kind: 'field', labels: ['判定'], taken: ['pi_ci_hao'], in_table: false })
    await run()
    expect(post).toHaveBeenCalledTimes(1)                              // nothing changed: no call
    keeper.type(fresh, 'result')
    fresh.key = 'result'
    fresh.label['zh-CN'] = '批次号'
    await run()
    expect(fresh.key).toBe('result')                                   // typed by hand in 高级: kept
    keeper.type(fresh, '')
    await run()
    expect(fresh.key).toBe('pi_ci_hao')                                // emptied: follows the label again
  })

  it('carries a renamed key into the display field and formulas', () => {
    const meta = { display_field: 'text_1' }
    const fields = [{ key: 'text_1' }, { key: 'f', formula: 'text_1 + text_10 + x.text_1' }]
    renameKey(meta, fields, 'text_1', 'pi_ci_hao')
    expect(meta.display_field).toBe('pi_ci_hao')
    expect(fields[1].formula).toBe('pi_ci_hao + text_10 + x.text_1')
  })
})

describe('problems in the user\'s words', () => {
  const def = { label: { 'zh-CN': '' }, fields: [] }
  it('an empty form: a name and a field, no pointer', () => {
    const said = localProblems(def).map((p) => p.text)
    expect(said).toEqual(['请填写表单名称（页面顶部）', '还没有字段：从左侧字段库把字段拖到表单里'])
    const server = [{ path: '/fields', message: { 'zh-CN': '格式不正确：项数太少，至少 1 项', en: '[] should be non-empty' } },
      { path: '/name', message: { 'zh-CN': "取值 '' 不合规则", en: 'x' } }]
    expect(serverProblems(server, def, localProblems(def))).toEqual([])
  })

  it('names the field by its label', () => {
    const d = { label: { 'zh-CN': '来料检验记录' }, fields: [
      { id: 'a', key: 'pan_ding', type: 'select', label: { 'zh-CN': '判定' }, options: [{ value: 'he_ge', label: { 'zh-CN': '合格' } }] },
      { id: 'b', key: 'lian', type: 'reference', label: { 'zh-CN': '供应商' }, form: '' },
      { id: 'c', key: 'x', type: 'text', label: { 'zh-CN': '批次号' } }] }
    const local = localProblems(d)
    expect(local).toEqual([{ field: 'a', text: '字段「判定」至少需要两个选项：在右侧「选项」中点「+ 添加」' },
      { field: 'b', text: '字段「供应商」需要选择关联的表单' }])
    const server = serverProblems([{ path: '/fields/1/form', message: { 'zh-CN': '被引用的表单  不存在' } },
      { path: '/fields/2/key', message: { 'zh-CN': 'x 是保留名' } }], d, local)
    expect(server).toEqual([{ field: 'c', text: '字段「批次号」的内部名称不可用：在右侧「高级」中清空它，将按名称重新生成' }])
  })
})

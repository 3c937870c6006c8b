// The trace answer (docs/traceability.md: root, lots, links, shipments, orders, records) as el-tree nodes:
// forward, a lot's children are the lots made from it and its shipments (客户); backward, the lots that went into it,
// its heat number, the orders that made it (with their job reports: operators, machines) and the records that name
// it (inspections). A lot reached by two paths shows under both; a cycle (which the engine never writes) stops.
// Forward by a heat number the answer has several ``roots`` (every lot of that heat number): one tree each.
// Quantities carry their unit (the item's stock unit: ``unit`` on links and shipments).
const MAX_NODES = 3000

/**
 * @param {any} answer the API's answer
 * @param {{ t: (k: string, p?: any) => string, num: (v: any) => string, when: (iso: string | null) => string,
 *   shipmentText: (s: any) => string }} words
 * @returns {{ nodes: any[], keys: string[] }} the tree and the keys of its lot and order nodes (to expand)
 */
export function traceTree(answer, { t, num, when, shipmentText }) {
  const withUnit = (qty, unit) => (unit ? `${qty} ${unit}` : qty)
  const forward = answer.direction !== 'backward'
  const lots = new Map((answer.lots || []).map((l) => [l.id, l]))
  const next = new Map()
  for (const k of answer.links || []) {
    const from = forward ? k.parent_lot : k.child_lot
    if (!next.has(from)) next.set(from, [])
    next.get(from).push(k)
  }
  const byLot = (list, key) => {
    const m = new Map()
    for (const x of list || []) for (const id of [].concat(x[key] ?? [])) { if (!m.has(id)) m.set(id, []); m.get(id).push(x) }
    return m
  }
  const shipments = byLot(answer.shipments, 'lot')
  const orders = byLot(answer.orders, 'lots')
  const records = byLot(answer.records, 'lot')
  const keys = []
  let count = 0

  const linkText = (k) => [k.relation_label, k.qty != null ? t('trace.qtyOf', { qty: withUnit(num(k.qty), k.unit) }) : '',
    k.production_order_code, k.task_name, k.operator_name ? `${t('trace.operator')} ${k.operator_name}` : '',
    k.machine_name ? `${t('trace.machine')} ${k.machine_name}` : '', k.document_code].filter(Boolean).join(' · ')

  function lotNode(id, via, path) {
    const l = lots.get(id) || { id, number: `#${id}`, item_name: '' }
    const key = path.join('>')
    count += 1
    keys.push(key)
    const facts = [l.supplier_lot ? `${t('trace.supplierLot')} ${l.supplier_lot}` : '', l.supplier || '',
      l.heat_number ? `${t('trace.heat')} ${l.heat_number}` : ''].filter(Boolean)
    const node = { key, kind: 'lot', tag: l.is_serial ? t('trace.serial') : t('trace.lot'), tagType: l.is_serial ? 'warning' : 'primary',
      title: `${l.item_name} ${l.number}`, detail: [via ? linkText(via) : '', ...facts].filter(Boolean).join(' · '), children: [] }
    if (!forward && l.heat_number) node.children.push({ key: `${key}:heat`, kind: 'heat', tag: t('trace.heat'), tagType: 'danger', title: l.heat_number, detail: l.supplier || '' })
    for (const o of (forward ? [] : orders.get(id) || [])) {
      keys.push(`${key}:o${o.id}`)
      node.children.push({ key: `${key}:o${o.id}`, kind: 'order', tag: t('trace.order'), tagType: 'info', title: o.code, detail: o.item_name || '',
        children: (o.reports || []).map((r) => ({ key: `${key}:o${o.id}:r${r.id}`, kind: 'report', tag: t('trace.reports'), tagType: 'info',
          title: [r.operation, r.operator_name].filter(Boolean).join(' '), detail: [r.machine_name ? `${t('trace.machine')} ${r.machine_name}` : '', t('trace.good', { n: num(r.good_qty) }),
            r.scrap_qty ? t('trace.scrap', { n: num(r.scrap_qty) }) : '', when(r.reported_at)].filter(Boolean).join(' · ') })) })
    }
    for (const r of (forward ? [] : records.get(id) || [])) {
      node.children.push({ key: `${key}:f${r.form}:${r.id}`, kind: 'record', tag: r.form_label || r.form, tagType: 'success', title: r.display || `#${r.id}`, detail: r.field_label || '' })
    }
    for (const k of next.get(id) || []) {
      const to = forward ? k.child_lot : k.parent_lot
      if (path.includes(to) || count >= MAX_NODES) continue
      node.children.push(lotNode(to, k, [...path, to]))
    }
    for (const s of (forward ? shipments.get(id) || [] : [])) {
      node.children.push({ key: `${key}:s${s.document_code}`, kind: 'shipment', tag: t('trace.shipments'), tagType: 'success', title: s.customer || '', detail: shipmentText(s) })
    }
    return node
  }

  const roots = answer.roots?.length ? answer.roots : answer.root != null ? [answer.root] : []
  const nodes = roots.map((id) => lotNode(id, null, [id]))
  return { nodes, keys }
}

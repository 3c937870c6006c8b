// The trace tree drawn from the API's answer (docs/traceability.md): forward a lot's children are the lots made
// from it and its shipments; backward the lots that went in, the heat number and the order with its job reports.
import { describe, expect, it } from 'vitest'
import { traceTree } from '../src/lib/traceTree.js'

const words = { t: (k, p) => (p ? `${k}:${JSON.stringify(p)}` : k), num: String, when: (x) => x || '', shipmentText: (s) => s.document_code }
const lots = [
  { id: 1, number: 'H-RM-01', item_name: 'RM', heat_number: 'H23', supplier: 'AG', is_serial: false },
  { id: 2, number: 'FG-1', item_name: 'FG', is_serial: true },
]
const link = { id: 9, parent_lot: 1, child_lot: 2, qty: 40, relation_label: 'consume', production_order_code: 'MO-1' }

describe('traceTree', () => {
  it('forward: the product lot under the raw lot, the shipment under the product', () => {
    const { nodes } = traceTree({ direction: 'forward', root: 1, lots, links: [link], shipments: [{ lot: 2, document_code: 'SH-1', customer: 'C' }] }, words)
    const [raw] = nodes
    expect(raw.title).toBe('RM H-RM-01')
    expect(raw.children.map((n) => n.title)).toEqual(['FG FG-1'])
    expect(raw.children[0].detail).toContain('MO-1')
    expect(raw.children[0].children.map((n) => [n.kind, n.title])).toEqual([['shipment', 'C']])
  })

  it('backward: the heat number, the order with its reports, the raw lot; a cycle stops', () => {
    const back = { direction: 'backward', root: 2, lots, links: [link, { ...link, id: 10, parent_lot: 2, child_lot: 1 }],
      orders: [{ id: 5, code: 'MO-1', lots: [2], reports: [{ id: 7, operation: 'op', operator_name: 'Wang', machine_name: 'M1', good_qty: 1 }] }] }
    const { nodes, keys } = traceTree(back, words)
    const [fg] = nodes
    expect(fg.children.map((n) => n.kind)).toEqual(['order', 'lot'])
    expect(fg.children[0].children[0].title).toBe('op Wang')
    expect(fg.children[1].children.map((n) => n.kind)).toEqual(['heat'])     // not FG again
    expect(keys).toContain(fg.children[0].key)
  })

  it('forward by a heat number: one tree per lot of it; quantities with their unit', () => {
    const two = [...lots, { id: 3, number: 'H-RM-02', item_name: 'RM', heat_number: 'H23' }]
    const { nodes } = traceTree({ direction: 'forward', root: 1, roots: [1, 3], lots: two, links: [{ ...link, unit: 'kg' }] }, words)
    expect(nodes.map((n) => n.title)).toEqual(['RM H-RM-01', 'RM H-RM-02'])
    expect(nodes[0].children[0].detail).toContain('"qty":"40 kg"')
  })
})

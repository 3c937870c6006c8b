// @ts-check
// Traceability (追溯, issue 21): a lot or serial traced forward (where it went, down to customers' shipments) or
// backward (what went into it, to heat numbers, operators, machines and inspection records), and a recall
// simulation by heat number. The answer shapes are in docs/traceability.md.
import { download, get } from './client.js'

/** @typedef {{ id: number, number: string, item: number, item_code: string, item_name: string, is_serial: boolean,
 *   heat_number: string | null, supplier_lot: string | null, supplier: string | null, status: string | null, level: number }} TraceLot */
/** @typedef {{ id: number, parent_lot: number, child_lot: number, qty: number, relation: string, relation_label: string,
 *   production_order: number | null, production_order_code: string | null, task_name: string | null, machine_name: string | null,
 *   operator_name: string | null, document_form: string | null, document_label: string | null, document_code: string | null,
 *   linked_at: string | null, level: number }} TraceLink */
/** @typedef {{ lot: number, lot_number: string, item_name: string, qty: number, document_id: number, document_code: string,
 *   shipped_at: string | null, sales_order: number | null, sales_order_code: string | null, customer: string | null }} TraceShipment */
/** @typedef {{ direction: 'forward' | 'backward', root: number, depth: number, lots: TraceLot[], links: TraceLink[],
 *   shipments: TraceShipment[], orders: any[], records: any[], hidden: Record<string, number> }} TraceAnswer */

/** Trace a lot or serial (its number as printed, or its id) forward or backward.
 * @param {'forward' | 'backward'} direction
 * @param {{ lot: string, item?: string, depth?: number }} query item narrows a number several items use
 * @returns {Promise<TraceAnswer>} */
export const traceLot = (direction, query) => get(`/api/trace/${direction === 'backward' ? 'backward' : 'forward'}`, query)

/** Recall simulation: every lot with the heat number traced forward, the shipments and customers it reached.
 * @param {string} heatNumber
 * @returns {Promise<{ heat_number: string, lots: Array<{ id: number, number: string, item_name: string }>, reached: number,
 *   shipments: TraceShipment[], customers: Array<{ customer: string, shipments: number, qty: number }>, hidden: Record<string, number> }>} */
export const recall = (heatNumber) => get('/api/trace/recall', { heat_number: heatNumber })

/** Download the trace (or the recall) as an Excel workbook; resolves to the file name.
 * @param {'forward' | 'backward' | 'recall'} direction
 * @param {{ lot?: string, item?: string, depth?: number, heat_number?: string }} query @returns {Promise<string>} */
export const exportTrace = (direction, query) => download(`/api/trace/${direction}`, { ...query, format: 'xlsx' }, `trace-${direction}.xlsx`)

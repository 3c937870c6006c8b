// @ts-check
// Stock documents entered by scanning (扫码出入库, issue 21): create and post in one call. The client_id is the
// idempotency key: the same key posts once (a double tap or a retry answers the first document, duplicate: true).
import { post } from './client.js'

/** @typedef {{ item: number, qty: number, lot?: number, lot_number?: string, from_location?: number, to_location?: number }} ScanLine */

/** Create a stock document of ``form`` (stock_receipt, stock_issue, stock_transfer, stock_return, stock_shipment) and post it.
 * @param {string} form
 * @param {{ client_id: string, lines: ScanLine[], supplier?: string, production_order?: number, sales_order?: number }} body
 * @returns {Promise<{ form: string, id: number, code: string | null, status: string | null, duplicate: boolean,
 *   moves: Array<{ id: number, item: number, location: number, lot: number | null, qty: number, line: number | null }> }>} */
export const createAndPost = (form, body) => post(`/api/inventory/documents/${encodeURIComponent(form)}`, body)

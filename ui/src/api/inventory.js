// @ts-check
// Stock (the core pack's stock forms, issue 21): stock on hand by item × location × lot and the ledger
// behind it (库存流水). Documents are entered through their forms (/f/stock_receipt …); posting is their
// 过账 button.
import { get, post } from './client.js'

/** @typedef {{ item: number, item_code: string, item_name: string, unit: string | null, location: number,
 *   location_name: string, location_kind: string | null, lot: number | null, lot_number: string | null,
 *   lot_status: string | null, qty: number }} StockRow */
/** @typedef {StockRow & { id: number, posted_at: string | null, document_form: string, document_label: string,
 *   document_id: number, document_code: string, document_line: number, other_location_name: string | null }} StockMove */

/** Non-zero balances, filtered, and the on-hand and usable totals per item.
 * @param {{ item?: string, location?: string | number, lot?: string | number, limit?: number }} [filter] codes or ids
 * @returns {Promise<{ rows: StockRow[], items: Array<{ item: number, item_code: string, item_name: string, unit: string | null,
 *   on_hand: number, usable: number }> }>} */
export const stockOnHand = (filter) => get('/api/inventory/onhand', filter)

/** The ledger, newest first; pass next_before as before for the next page.
 * @param {{ item?: string | number, location?: string | number, lot?: string | number, before?: number, limit?: number }} [filter]
 * @returns {Promise<{ moves: StockMove[], next_before: number | null }>} */
export const stockMoves = (filter) => get('/api/inventory/moves', filter)

/** One line-side replenishment rule on the board (补料看板): usable stock at the line side against its reorder
 * point, the open request (a draft transfer with the lots FEFO/FIFO would take) and a colour.
 * @typedef {{ rule: number, code: string, method: 'min_max' | 'kanban', item: number, item_code: string, item_name: string,
 *   unit: string | null, location: number, location_name: string, work_center: number | null, work_center_name: string | null,
 *   source_location: number, source_name: string, min: number, max: number, kanban_qty: number | null, kanban_cards: number | null,
 *   on_hand: number, open_qty: number, would_ask: number, status: 'red' | 'yellow' | 'green', status_zh: string,
 *   requests: Array<{ id: number, code: string, qty: number, short: number, lots: Array<{ lot: number, number: string, qty: number }> }> }} ReplenishRow */

/** The replenishment board: rows red first, counts per colour, and whether the reader may post requests and run the check.
 * @returns {Promise<{ rows: ReplenishRow[], counts: { red: number, yellow: number, green: number }, can_post: boolean, can_run: boolean }>} */
export const replenishmentBoard = () => get('/api/inventory/replenishment')

/** Check every rule now: a draft transfer for each one below its reorder point with none open.
 * @param {{ dry_run?: boolean }} [opt]
 * @returns {Promise<{ checked: number, dry_run: boolean, requests: Array<{ rule: number, code: string | null, qty: number }> }>} */
export const runReplenishment = (opt) => post('/api/inventory/replenishment/run', undefined, opt)

/** Post (过账) a draft stock document, e.g. a replenishment request (form stock_transfer).
 * @param {string} form @param {number} id
 * @returns {Promise<{ form: string, id: number, code: string, status: string, duplicate: boolean }>} */
export const postStockDocument = (form, id) => post(`/api/inventory/documents/${encodeURIComponent(form)}/${Number(id)}/post`)

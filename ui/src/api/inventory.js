// @ts-check
// Stock (the core pack's stock forms, issue 21): stock on hand by item × location × lot and the ledger
// behind it (库存流水). Documents are entered through their forms (/f/stock_receipt …); posting is their
// 过账 button.
import { get } from './client.js'

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

// @ts-check
// MRP (物料需求计划, issue 21): run MRP, read a run and its suggestions (建议), follow a suggestion's pegging
// to the demands it serves (需求来源), confirm suggestions into real orders or ignore them. See docs/mrp.md.
import { get, post } from './client.js'

/** @typedef {{ id: number, code: string, run_at: string | null, mode: 'full' | 'net_change', bucket: 'day' | 'week',
 *   horizon: number, start_date: string | null, status: string, item_count: number, demand_count: number,
 *   suggestion_count: number, exception_count: number, beyond_count: number, duration_ms: number, note: string | null }} MrpRun */
/** @typedef {{ demand_kind: string, demand: string | null, sales_order: number | null, forecast: number | null,
 *   parent_suggestion?: number | null, production_order: number | null, qty: number }} Peg */
/** @typedef {{ id: number, code: string, kind: 'make' | 'buy', qty: number, release_date: string | null, due_date: string | null,
 *   exception: 'late' | 'expedite' | 'reschedule_out' | 'cancel' | null, status: 'proposed' | 'confirmed' | 'ignored',
 *   level: number, production_order: number | null, purchase_order: number | null, item_code: string, item_name: string,
 *   pegging: Peg[] }} Suggestion */

/** Run MRP (planners): full regeneration or net change, in day or week buckets, over ``horizon`` buckets.
 * @param {{ bucket?: 'day' | 'week', horizon?: number, mode?: 'full' | 'net_change' }} body
 * @returns {Promise<MrpRun>} the run with its counts */
export const runMrp = (body) => post('/api/mrp/runs', body)

/** The latest runs, newest first.
 * @param {number} [limit] at most 100 @returns {Promise<{ runs: MrpRun[] }>} */
export const listRuns = (limit) => get('/api/mrp/runs', { limit })

/** A run (id or code) with a page of its suggestions and their pegging.
 * @param {number | string} run
 * @param {{ limit?: number, offset?: number, exception?: string, status?: string, item?: string }} [filter]
 * @returns {Promise<{ run: MrpRun, total: number, limit: number, offset: number, suggestions: Suggestion[] }>} */
export const fetchRun = (run, filter) => get(`/api/mrp/runs/${encodeURIComponent(String(run))}`, filter)

/** The demands at the top that a suggestion serves (its pegging followed up through the parents' suggestions).
 * @param {number | string} suggestion id or code
 * @returns {Promise<{ suggestion: string, qty: number, demands: Peg[] }>} */
export const suggestionDemands = (suggestion) => get(`/api/mrp/suggestions/${encodeURIComponent(String(suggestion))}/demands`)

/** Confirm suggestions (at most 1,000): make → planned production orders, buy → lines of one purchase order;
 * those already confirmed or ignored are skipped, never done twice.
 * @param {Array<number | string>} suggestions ids or codes
 * @returns {Promise<{ confirmed: Array<{ code: string, item: number, kind: string, qty: number, exception: string | null,
 *   order: any }>, skipped: Array<{ code: string, status: string, reason: any }>, purchase_order: any }>} */
export const confirmSuggestions = (suggestions) => post('/api/mrp/suggestions/confirm', { suggestions })

/** Mark suggestions 已忽略.
 * @param {Array<number | string>} suggestions ids or codes @returns {Promise<any>} */
export const ignoreSuggestions = (suggestions) => post('/api/mrp/suggestions/ignore', { suggestions })

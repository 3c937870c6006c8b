// @ts-check
// OEE per ISO 22400-2 (issue 23): rows per machine / line / shift / day, the six big losses with the stop
// reasons behind them, the andon board, a machine's state timeline and its stops waiting for a reason.
// The answer shapes are in docs/oee.md (「接口」). A stop is classified through the record API.
import { get } from './client.js'
import { updateRecord } from './records.js'

/** OEE rows. @param {{ from?: string, to?: string, group?: string, machine?: string, line?: string }} q
 * @returns {Promise<Record<string, any>>} */
export const oeeRows = (q) => get('/api/oee', q)

/** The six big losses and the stop-reason Pareto. @param {{ from?: string, to?: string, machine?: string, line?: string }} q
 * @returns {Promise<Record<string, any>>} */
export const oeeLosses = (q) => get('/api/oee/losses', q)

/** Every machine's state, since, today's OEE, open alarms. @param {{ line?: string }} [q] @returns {Promise<Record<string, any>>} */
export const andonBoard = (q) => get('/api/oee/andon', q)

/** One machine's states and shifts over a day (or a period). @param {{ machine: string, from?: string, to?: string }} q
 * @returns {Promise<Record<string, any>>} */
export const machineTimeline = (q) => get('/api/oee/timeline', q)

/** One machine's down / idle stops without a reason, and the reasons to choose from.
 * @param {{ machine: string, days?: number }} q @returns {Promise<Record<string, any>>} */
export const unexplainedStops = (q) => get('/api/oee/stops', q)

/** Give a stop its reason (and a note). @param {number} id @param {number} reason @param {string | null} note
 * @param {number} rowVersion @returns {Promise<any>} */
export const classifyStop = (id, reason, note, rowVersion) =>
  updateRecord('machine_state', id, note ? { stop_reason: reason, note } : { stop_reason: reason }, rowVersion)

// @ts-check
// SPC 控制图 (issue 22): the inspection plans' characteristics charted from their inspection lots (one judged
// lot = one subgroup), their alarms (判异报警) and the points excluded from the limits with a reason. The
// answer shapes are in docs/quality.md (「SPC 接口」).
import { del, get, post } from './client.js'

/** @typedef {{ plan: number, plan_code: string | null, plan_name: string | null, inspection_type: string | null,
 *   item: number | null, item_display?: string | null, char_seq: number, name: string, chart: string,
 *   lsl: number | null, usl: number | null, nominal: number | null, unit: string | null,
 *   subgroups?: number, open_alarms?: number }} SpcCharacteristic */
/** @typedef {{ name: string, points: number[], center: number | null, ucl: number | null, lcl: number | null,
 *   center_points?: number[], ucl_points?: number[], lcl_points?: number[],
 *   violations: Array<{ rule: number, set: string, index: number, points: number[], message: { 'zh-CN': string, en: string } }> }} SpcPart */
/** @typedef {{ id: number, rule: string, subgroup: string | null, value: number | null, raised_at: string | null,
 *   characteristic?: string, inspection_lot?: number | null, inspection_lot_code?: string | null,
 *   acknowledged_by?: any, acknowledged_at?: string | null, ncr?: any }} SpcAlarm */

/** The characteristics the caller may chart (plans she may read), with their subgroup and open-alarm counts.
 * @param {{ plan?: number, item?: number }} [filter]
 * @returns {Promise<{ items: SpcCharacteristic[] } | SpcCharacteristic[]>} */
export const spcCharacteristics = (filter) => get('/api/quality/spc/characteristics', filter)

/** One characteristic's chart: points, limits, rule marks, capability, histogram, normality, notes, the
 * excluded points and the alarms, with each subgroup's inspection lot code and date.
 * @param {{ plan: number, char_seq: number, from?: string, to?: string, k?: number, rules?: string, limit?: number }} q
 * @returns {Promise<Record<string, any>>} */
export const spcChart = (q) => get('/api/quality/spc/chart', q)

/** Leave one subgroup (an inspection lot) out of the limits, with the reason (phase II).
 * @param {{ plan: number, char_seq: number, inspection_lot: number, reason: string }} body
 * @returns {Promise<Record<string, any>>} */
export const excludePoint = (body) => post('/api/quality/spc/exclusions', body)

/** Take an exclusion back: the subgroup counts in the limits again.
 * @param {number} id the exclusion's id @returns {Promise<any>} */
export const includePoint = (id) => del(`/api/quality/spc/exclusions/${id}`)

/** Acknowledge an alarm (确认): who and when are recorded.
 * @param {number} id the alarm's id @returns {Promise<Record<string, any>>} */
export const acknowledgeAlarm = (id) => post(`/api/quality/spc/alarms/${id}/acknowledge`)

/** Use the chart's limits as the characteristic's phase II baseline (以当前数据为基准): writes its baseline mean
 * (and sigma, for measured charts) on the inspection plan; needs the right to edit the plan.
 * @param {{ plan: number, char_seq: number, from?: string, to?: string, limit?: number }} body
 * @returns {Promise<{ plan: number, char_seq: number, chart: string, subgroups: number, baseline_mean: number, baseline_sigma: number | null }>} */
export const setBaseline = (body) => post('/api/quality/spc/baseline', body)

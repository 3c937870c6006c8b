// @ts-check
// Production (the core pack): release an order, report work on an operation task (报工), an order's
// progress and the dispatch list (派工单). Also the small rules the shop floor page shows before it asks:
// which buttons a task's status allows, one idempotency key per tap, times in the plant's time zone.
import { get, post } from './client.js'

/** @typedef {'start' | 'pause' | 'resume' | 'report' | 'finish'} ReportEvent */
/** @typedef {'waiting' | 'ready' | 'running' | 'paused' | 'done'} TaskStatus */
/** @typedef {{ id: number, code: string, seq: number, name: string, status: TaskStatus, qty: number, good_qty: number,
 *   scrap_qty: number, rework_qty: number, work_center: number | null, machine: number | null, work_center_name?: string | null,
 *   machine_name?: string | null, planned_start: string | null, planned_end: string | null, actual_start: string | null,
 *   actual_end: string | null, reached?: number, wip?: number, [more: string]: any }} TaskView */
/** @typedef {{ order: Record<string, any>, tasks: TaskView[], wip: number, good_qty: number, scrap_qty: number, progress: number,
 *   current_operation: string | null, expected_finish: string | null, on_time: string | null }} OrderProgress */
/** @typedef {TaskView & { order: number, order_code: string, item: number, item_name: string, due_date: string | null,
 *   priority: number, available: number }} DispatchTask */
/** @typedef {{ task: number | string, event: ReportEvent, good_qty?: number, scrap_qty?: number, rework_qty?: number,
 *   scrap_reason?: number | string | null, machine?: number | string | null, client_id: string, note?: string }} ReportBody */

/** Release a planned order: its tasks from the routing, components from the BOM.
 * @param {number | string} order id or code @returns {Promise<Record<string, any>>} */
export const releaseOrder = (order) => post(`/api/production/orders/${encodeURIComponent(String(order))}/release`, {})

/** One job report; a repeated client_id answers with the first report (duplicate: true) and counts nothing.
 * @param {ReportBody} body @returns {Promise<{ report: Record<string, any>, duplicate: boolean, task: TaskView, order: Record<string, any> }>} */
export const postReport = (body) => post('/api/production/reports', body)

/** @param {number | string} order id or code @returns {Promise<OrderProgress>} the order with its tasks, WIP and totals */
export const orderProgress = (order) => get(`/api/production/orders/${encodeURIComponent(String(order))}/progress`)

/** Open tasks of released orders in planned-start order.
 * @param {{ work_center?: string | number | null, machine?: string | number | null }} [filter] id or code of each
 * @returns {Promise<{ tasks: DispatchTask[] }>} */
export const dispatchList = (filter) => get('/api/production/dispatch', filter)

/** event -> the task statuses it may come in (the engine's rules, mirrored to show only the buttons that work).
 * @type {Record<ReportEvent, TaskStatus[]>} */
export const EVENT_FROM = {
  start: ['ready'],
  pause: ['running'],
  resume: ['paused'],
  report: ['ready', 'running', 'paused'],
  finish: ['ready', 'running', 'paused'],
}

/** The events a task in ``status`` takes, in button order (开工 暂停 继续 报数 完工); a paused task is
 * resumed, not started again.
 * @param {string} status @returns {ReportEvent[]} */
export function allowedEvents(status) {
  return /** @type {ReportEvent[]} */ (Object.keys(EVENT_FROM)).filter((e) => EVENT_FROM[/** @type {ReportEvent} */ (e)].includes(/** @type {TaskStatus} */ (status)))
}

/** A new idempotency key for one tap: crypto.randomUUID where the page has it (HTTPS or localhost), else
 * random bytes, else time + Math.random (a plain-http LAN address has no randomUUID).
 * @param {{ randomUUID?: () => string, getRandomValues?: (a: Uint8Array) => Uint8Array } | undefined} [c]
 * @returns {string} */
export function newClientId(c = globalThis.crypto) {
  if (c && typeof c.randomUUID === 'function') return c.randomUUID()
  if (c && typeof c.getRandomValues === 'function') {
    const b = c.getRandomValues(new Uint8Array(16))
    b[6] = (b[6] & 0x0f) | 0x40
    b[8] = (b[8] & 0x3f) | 0x80
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`
}

/** A datetime from the API (UTC) as the plant reads it: 'MM-DD HH:mm' in the plant's time zone (or the
 * browser's when none is known); '' for none.
 * @param {string | null | undefined} iso @param {string | null} [timeZone] e.g. 'Asia/Shanghai'
 * @param {{ year?: boolean }} [opt] year: also the year @returns {string} */
export function plantTime(iso, timeZone, opt = {}) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return String(iso)
  /** @type {Intl.DateTimeFormatOptions} */
  const fmt = { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
  if (opt.year) fmt.year = 'numeric'
  let parts
  try { parts = new Intl.DateTimeFormat('en-GB', { ...fmt, timeZone: timeZone || undefined }).formatToParts(d) } catch (e) {
    parts = new Intl.DateTimeFormat('en-GB', fmt).formatToParts(d)   // an unknown zone name: the browser's
  }
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]))
  return `${opt.year ? `${p.year}-` : ''}${p.month}-${p.day} ${p.hour}:${p.minute}`
}

/** A quantity as typed on a keypad ('12', '3.5', '' = 0); NaN when it is not a number ≥ 0.
 * @param {string | number | null | undefined} text @returns {number} */
export function quantity(text) {
  // full-width digits, point and comma (a Chinese input method) read as ASCII; a comma is a decimal point
  const s = String(text ?? '').trim().replace(/[\uff10-\uff19\uff0c\uff0e]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0)).replace(/,/g, '.')
  if (s === '') return 0
  if (!/^\d+(\.\d+)?$/.test(s)) return NaN
  return Number(s)
}

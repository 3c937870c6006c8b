// @ts-check
// NCR and CAPA screens and RTY (issue 22): the NCR work list and one NCR with its posted documents (links only
// to what I may read), the CAPA (8D) list and one CAPA with its steps, and 直通率 (RTY) per production order.
// The actions are the general APIs: workflow start, task approve, record transitions, record create.
import { get } from './client.js'

/** NCRs I may read, oldest first (not closed by default).
 * @param {{ status?: string, source?: string, supplier?: string, q?: string, limit?: number }} [params] */
export const listNcrs = (params) => get('/api/quality/ncrs', params)

/** One NCR: dispositions with their documents, review flow, CAPA, what I may do. @param {number} id */
export const fetchNcr = (id) => get(`/api/quality/ncrs/${id}`)

/** CAPAs I may read, due soonest first. @param {{ status?: string, mine?: boolean, overdue?: boolean, limit?: number }} [params] */
export const listCapas = (params) => get('/api/quality/capas', params)

/** One CAPA: the 8D steps with who/when, the effectiveness check. @param {number} id */
export const fetchCapa = (id) => get(`/api/quality/capas/${id}`)

/** 直通率 of a production order (id or number): each operation's first-pass yield and their product.
 * @param {number | string} order */
export const orderRty = (order) => get('/api/quality/rty', { order })

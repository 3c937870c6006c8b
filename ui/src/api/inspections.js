// @ts-check
// Inspection entry (检验录入, issue 22): the inspector's list of inspection lots, one lot as a sample grid,
// saving its readings (autosave) and judging it. The server keeps the form's permissions, state machine and
// row_version; a reading is saved as a cell {sample_no, char_seq, value | ok, defect_code?, note?}.
import { get, post, put } from './client.js'

/** @typedef {{ 'zh-CN'?: string, en?: string } | null} Label */
/** @typedef {{ id: number, code: string, status: string, status_label: Label, inspection_type: string, type_label: Label,
 *   item: string | null, lot: string | null, supplier: string | null, lot_qty: number | null, sample_size: number | null,
 *   severity: string | null, severity_label: Label, due_at: string | null, overdue: boolean, assignee: string | null,
 *   result: string | null, result_label: Label }} InspectionCard */
/** @typedef {{ seq: number, name: string, kind: 'numeric' | 'attribute', defect_class: string, class_label: Label,
 *   nominal: number | null, lsl: number | null, usl: number | null, unit: string | null, method: string | null,
 *   counts_defects: boolean }} Characteristic  (counts_defects: charted c / u, a unit's value is its number of defects) */
/** @typedef {{ char_seq: number, value: number | null, ok: boolean | null, defect_code: number | null, defect_text: string | null,
 *   note: string | null }} Cell */
/** @typedef {{ sample_no: number, char_seq: number, value?: number | string | null, ok?: boolean | null,
 *   defect_code?: number | null, note?: string | null }} CellInput */
/** @typedef {InspectionCard & { row_version: number, code_letter: string | null, unit: string | null,
 *   plan: { id: number, code: string, name: string } | null, switching_note: string | null, ncr: { id: number, code: string } | null,
 *   characteristics: Characteristic[], samples: Array<{ sample_no: number, cells: Cell[] }>,
 *   classes: Array<{ key: string, label: Label, sampled: boolean, ac: number | null, re: number | null, defects: number, rejected: boolean }>,
 *   missing: number, may: { enter: boolean, judge: boolean } }} InspectionGrid */

/** Inspection lots I may read: open ones (待检, 检验中) due soonest first unless ``status`` says otherwise.
 * @param {{ status?: string, type?: string, q?: string, limit?: number }} [params]
 * @returns {Promise<{ items: InspectionCard[], more: boolean }>} */
export const listInspections = (params) => get('/api/quality/inspections', params)

/** One lot as a sample grid. @param {number} id @returns {Promise<InspectionGrid>} */
export const fetchInspection = (id) => get(`/api/quality/inspections/${id}`)

/** Save readings (an empty cell removes its reading); a pending lot starts (检验中). Answers the grid as saved.
 * @param {number} id @param {{ row_version?: number, cells: CellInput[] }} body @returns {Promise<InspectionGrid>} */
export const saveResults = (id, body) => put(`/api/quality/inspections/${id}/results`, body)

/** Judge the lot (判定): the result, defects per class, the switching event and the NCR. @param {number} id
 * @param {{ row_version?: number }} [body] @returns {Promise<InspectionGrid>} */
export const judgeInspection = (id, body) => post(`/api/quality/inspections/${id}/judge`, body || {})

// @ts-check
// Records of a form: list, read, write, preview, state transitions, timeline, import/export, print.
import { api, del, download, get, openBlob, patch, post } from './client.js'

/** @typedef {import('./client.js').Params} Params */
/** @typedef {import('./client.js').Label} Label */
/** @typedef {import('./client.js').Problem} Problem */
/** @typedef {{ id: number, row_version: number, _display?: Record<string, string>, [field: string]: any }} RecordRow */
/** @typedef {{ items: RecordRow[], total?: number, next?: string | null }} RecordPage */
/** @typedef {{ computed: Record<string, any>, defaults: Record<string, any>, children?: Record<string, Record<string, any>[]>, problems: Problem[], errors?: any[] }} Preview */
/** @typedef {{ key: string, label: Label, [more: string]: any }} Transition */
/** @typedef {{ created: number, updated: number, unchanged: number, skipped: number, errors?: any[] }} ImportResult */
/** @typedef {{ name: string, source: string, label?: Label }} PrintTemplate */

/** @param {string} form @param {Params} [params] filters (`field__op`), sort, fields, limit, after, count @returns {Promise<RecordPage>} */
export const listRecords = (form, params) => get(`/api/records/${form}`, params)
/** @param {string} form @param {number} id @returns {Promise<RecordRow>} */
export const fetchRecord = (form, id) => get(`/api/records/${form}/${id}`)
/** @param {string} form @param {Record<string, any>} values @returns {Promise<RecordRow>} */
export const createRecord = (form, values) => post(`/api/records/${form}`, values)
/**
 * A change always carries the row_version that was read, so a concurrent edit is refused (409), never lost.
 * @param {string} form @param {number} id @param {Record<string, any>} values @param {number} row_version
 * @returns {Promise<RecordRow>}
 */
export const updateRecord = (form, id, values, row_version) => patch(`/api/records/${form}/${id}`, { ...values, row_version })
/** @param {string} form @param {number} id */
export const deleteRecord = (form, id) => del(`/api/records/${form}/${id}`)
/** Defaults, live formula values and problems of a record being filled in; writes nothing.
 * @param {string} form @param {Record<string, any>} values @param {boolean} editing @returns {Promise<Preview>} */
export const previewRecord = (form, values, editing) => post(`/api/records/${form}/preview`, values, editing ? { editing: 1 } : undefined)
/** @param {string} form @param {number} id @returns {Promise<any[]>} */
export const recordTimeline = (form, id) => get(`/api/records/${form}/${id}/timeline`)
/** @param {string} form @param {number} id @returns {Promise<Transition[] | { transitions: Transition[] }>} */
export const recordTransitions = (form, id) => get(`/api/records/${form}/${id}/transitions`)
/** @param {string} form @param {number} id @param {string} key */
export const runTransition = (form, id, key) => post(`/api/records/${form}/${id}/transitions/${key}`, {})
/** @param {string} form @param {FormData} body file, mode, key @returns {Promise<ImportResult>} */
export const importRecords = (form, body) => api('POST', `/api/records/${form}/import`, body)
/** @param {string} form @param {Params} params the list's filters @param {'csv' | 'xlsx'} format */
export const exportRecords = (form, params, format) => download(`/api/records/${form}/export`, { ...params, format }, `${form}.${format}`)
/** @returns {Promise<PrintTemplate[]>} */
export const listPrintTemplates = () => get('/api/print-templates')
/** Open a record printed with a template in a new tab. @param {string} template @param {number} recordId */
export const openPrint = (template, recordId) => openBlob(`/api/print/${template}`, { record_id: recordId, format: 'html' })

// @ts-check
// What the web app itself needs: the menu, the people picker, the shop-floor scan, saved list views.
import { del, get, put } from './client.js'

/** @typedef {import('./client.js').Label} Label */
/** @typedef {{ name: string, label: Label, actions: string[] }} AppForm */
/** @typedef {{ name: string, label: Label, forms: AppForm[], reports: { name: string, label: Label }[], dashboards: { name: string, label: Label }[] }} App */
/** @typedef {{ id: number, username: string, display_name?: string }} DirectoryUser */
/** @typedef {{ form: string, form_label: Label, id: number, title: string, record?: Record<string, any> }} ScanMatch */
/** @typedef {{ name: string, spec: Record<string, any>, shared?: boolean, mine?: boolean }} SavedView */

/** @returns {Promise<App[]>} the installed packs' forms, reports and dashboards the caller may open */
export const fetchApps = () => get('/api/apps')

/** People for a picker: by text, or by ids.
 * @param {{ q?: string, ids?: string, limit?: number }} params @returns {Promise<DirectoryUser[]>} */
export const directoryUsers = (params) => get('/api/directory/users', params)

/** Records whose barcode, auto-number or display field is the code.
 * @param {string} code @returns {Promise<{ matches: ScanMatch[] }>} */
export const scan = (code) => get('/api/scan', { code })

/** @param {string} form @returns {Promise<SavedView[]>} the caller's and the shared views of a list */
export const listViews = (form) => get(`/api/views/${form}`)

/** @param {string} form @param {string} name @param {{ spec: Record<string, any>, shared?: boolean }} body */
export const saveView = (form, name, body) => put(`/api/views/${form}/${encodeURIComponent(name)}`, body)

/** @param {string} form @param {string} name */
export const deleteView = (form, name) => del(`/api/views/${form}/${encodeURIComponent(name)}`)

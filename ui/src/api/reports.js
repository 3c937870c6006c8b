// @ts-check
// Reports: definitions, data, drill-down, export, the designer's preview.
import { download, get, post, put } from './client.js'

/** @typedef {import('./client.js').Params} Params */
/** @typedef {import('./client.js').Label} Label */
/** @typedef {{ name: string, label?: Label, source: string, dimensions: any[], measures: any[], [more: string]: any }} ReportDefinition */
/** @typedef {{ columns: any[], rows: Record<string, any>[], [more: string]: any }} ReportResult */
/** @typedef {{ items: Record<string, any>[], total: number, form: string }} DrillResult */

/** @returns {Promise<{ name: string, label: Label }[]>} */
export const listReports = () => get('/api/reports')
/** @param {string} name @returns {Promise<{ definition: ReportDefinition, [more: string]: any }>} */
export const fetchReport = (name) => get(`/api/reports/${name}`)
/** @param {string} name @param {Params} params @returns {Promise<ReportResult>} */
export const reportData = (name, params) => get(`/api/reports/${name}/data`, params)
/** @param {string} name @param {Params} params @param {'csv' | 'xlsx'} format */
export const exportReport = (name, params, format) => download(`/api/reports/${name}/data`, { ...params, format }, `${name}.${format}`)
/** The drill-down address of a report (dashboards get theirs from the server). @param {string} name */
export const reportDrillPath = (name) => `/api/reports/${name}/drill`
/** The records behind one point. @param {string} path from reportDrillPath or a widget @param {Params} params @returns {Promise<DrillResult>} */
export const drillRecords = (path, params) => get(path, params)
/** Run an unpublished definition (at most 200 rows). @param {ReportDefinition} definition @returns {Promise<ReportResult>} */
export const previewReport = (definition) => post('/api/reports/preview', { definition, params: {} })
/** @param {ReportDefinition} definition @returns {Promise<{ version: number, [more: string]: any }>} */
export const publishReport = (definition) => put(`/api/reports/${definition.name}`, definition)

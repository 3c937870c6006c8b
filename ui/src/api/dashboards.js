// @ts-check
// Dashboards: definitions, data, the designer's preview.
import { get, post, put } from './client.js'

/** @typedef {import('./client.js').Params} Params */
/** @typedef {import('./client.js').Label} Label */
/** @typedef {{ name: string, label?: Label, widgets: any[], params?: any[], [more: string]: any }} DashboardDefinition */
/** @typedef {{ label: Label, widgets: any[], params: any[], columns?: number, refresh_seconds?: number, [more: string]: any }} DashboardData */

/** @returns {Promise<{ name: string, label: Label }[]>} */
export const listDashboards = () => get('/api/dashboards')
/** @param {string} name @returns {Promise<{ definition: DashboardDefinition, [more: string]: any }>} */
export const fetchDashboard = (name) => get(`/api/dashboards/${name}`)
/** @param {string} name @param {Params} params @returns {Promise<DashboardData>} */
export const dashboardData = (name, params) => get(`/api/dashboards/${name}/data`, params)
/** @param {DashboardDefinition} definition @returns {Promise<DashboardData>} */
export const previewDashboard = (definition) => post('/api/dashboards/preview', { definition, params: {} })
/** @param {DashboardDefinition} definition @returns {Promise<{ version: number, [more: string]: any }>} */
export const publishDashboard = (definition) => put(`/api/dashboards/${definition.name}`, definition)

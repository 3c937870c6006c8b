// @ts-check
// Form definitions (mom.form/1): read, check (the migration plan), publish.
import { get, post, put } from './client.js'

/** @typedef {import('./client.js').Label} Label */
/** @typedef {import('./client.js').Problem} Problem */
/** @typedef {{ key: string, type: string, label?: Label, [more: string]: any }} Field */
/** @typedef {{ name: string, label?: Label, fields: Field[], [more: string]: any }} FormDefinition */
/** @typedef {{ name: string, label: Label, version: number, actions: string[], display_field?: string, definition: FormDefinition, [more: string]: any }} FormInfo */
/** @typedef {{ steps: { op: string, [more: string]: any }[], [more: string]: any }} Plan */

/** @returns {Promise<{ name: string, label: Label, version: number }[]>} */
export const listForms = () => get('/api/forms')
/** @param {string} name @returns {Promise<FormInfo>} the definition as the caller may see it */
export const fetchForm = (name) => get(`/api/forms/${name}`)
/** Check a definition and plan its migration; writes nothing. Problems come back as an ApiError.
 * @param {FormDefinition} definition @returns {Promise<Plan>} */
export const planForm = (definition) => post('/api/forms/plan', definition)

/** Keys made from Chinese labels (pinyin, unique, never reserved).
 *  @param {'form'|'field'|'option'|'flow'|'report'|'dashboard'} kind @param {string[]} labels
 *  @param {string[]} taken @param {boolean} inTable @returns {Promise<{ keys: string[] }>} */
export const designerKeys = (kind, labels, taken, inTable) => post('/api/designer/keys', { kind, labels, taken, in_table: inTable })

/** The publish dialog's questions (who may fill in / see all records), roles by name, and the default.
 *  @returns {Promise<any>} */
export const permissionChoices = () => get('/api/permissions/choices')
/** The permission entries (and sentences) the dialog's answers make. @param {any} answers @returns {Promise<any>} */
export const composePermissions = (answers) => post('/api/permissions/compose', answers)
/** @param {FormDefinition} definition @returns {Promise<{ version: number, [more: string]: any }>} */
export const publishForm = (definition) => put(`/api/forms/${definition.name}`, definition)

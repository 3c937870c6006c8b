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
/** @param {FormDefinition} definition @returns {Promise<{ version: number, [more: string]: any }>} */
export const publishForm = (definition) => put(`/api/forms/${definition.name}`, definition)

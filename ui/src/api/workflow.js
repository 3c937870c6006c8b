// @ts-check
// Approval flows (mom.workflow/1) and their instances.
import { get, post, put } from './client.js'

/** @typedef {import('./client.js').Label} Label */
/** @typedef {{ name: string, label?: Label, form: string, nodes: any[], [more: string]: any }} FlowDefinition */
/** @typedef {{ name: string, label: Label, form: string, enabled: boolean, trigger?: string }} FlowSummary */

/** @returns {Promise<FlowSummary[]>} */
export const listFlows = () => get('/api/workflows')
/** @param {string} name @returns {Promise<{ definition: FlowDefinition, [more: string]: any }>} */
export const fetchFlow = (name) => get(`/api/workflows/${name}`)
/** Problems come back as an ApiError. @param {FlowDefinition} definition */
export const validateFlow = (definition) => post('/api/workflows/validate', definition)
/** @param {FlowDefinition} definition @returns {Promise<{ version: number, [more: string]: any }>} */
export const publishFlow = (definition) => put(`/api/workflows/${definition.name}`, definition)
/** Submit a record for approval. @param {string} flow @param {number} recordId */
export const startFlow = (flow, recordId) => post(`/api/workflows/${flow}/start`, { record_id: recordId })
/** @param {number} instanceId */
export const withdrawInstance = (instanceId) => post(`/api/workflow-instances/${instanceId}/withdraw`, {})
/** An instance with its tasks and its timeline in words. @param {number} instanceId */
export const fetchInstance = (instanceId) => get(`/api/workflow-instances/${instanceId}`)

/** A record's approval requests, newest first. @param {string} form @param {number|string} recordId
 *  @returns {Promise<any[]>} */
export const recordInstances = (form, recordId) => get('/api/workflow-instances', { form, record_id: recordId })
/** 催办: remind the approvers a request waits for (its initiator; once an hour each, else a 429 saying when). @param {number} instanceId */
export const remindInstance = (instanceId) => post(`/api/workflow-instances/${instanceId}/remind`, {})

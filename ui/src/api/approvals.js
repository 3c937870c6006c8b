// @ts-check
// Approval features beyond the task actions: 发起人自选 choices, task options, 撤销, 代理人, 离职交接.
import { del, get, post } from './client.js'

/** Nodes whose approvers the submitter chooses, with candidates (at most 500; `more` when there are others:
 * search with q, part of a name, for one node); with record_id only those on that record's path, each
 * `required` or not. @param {string} flow @param {{ q?: string, node?: string, record_id?: number }} [params] */
export const flowChoices = (flow, params) => get(`/api/workflows/${flow}/choices`, params)
/** What the signed-in user may do with a record now (can_update, editable_fields, can_delete, can_submit,
 * can_resubmit) and its open request, with who returned it and why. @param {string} form @param {number} id */
export const recordStanding = (form, id) => get(`/api/records/${form}/${id}/standing`)
/** 重新提交 a request that was returned to me. @param {number} instanceId @param {string} [comment] */
export const resubmitInstance = (instanceId, comment) => post(`/api/workflow-instances/${instanceId}/resubmit`, { comment })
/** Submit with chosen approvers. @param {string} flow @param {number} recordId @param {Record<string, string[]>} approvers */
export const startWithApprovers = (flow, recordId, approvers) => post(`/api/workflows/${flow}/start`, { record_id: recordId, approvers })
/** What a task allows: return targets, required comments, signature. @param {number} taskId */
export const taskOptions = (taskId) => get(`/api/tasks/${taskId}/options`)
/** 撤销 an approved request. @param {number} instanceId @param {string} [comment] */
export const revokeInstance = (instanceId, comment) => post(`/api/workflow-instances/${instanceId}/revoke`, { comment })
/** Proxy periods (mine, or everyone's for an administrator). @param {boolean} [all] */
export const listProxies = (all = false) => get('/api/workflow-proxies', all ? { all: 1 } : undefined)
/** @param {{ proxy: string, starts_at?: string, ends_at: string, user?: string }} body */
export const addProxy = (body) => post('/api/workflow-proxies', body)
/** @param {number} id */
export const removeProxy = (id) => del(`/api/workflow-proxies/${id}`)
/** 离职交接 (administrators). @param {{ from: string, to: string, comment?: string }} body */
export const handover = (body) => post('/api/admin/workflow-handover', body)

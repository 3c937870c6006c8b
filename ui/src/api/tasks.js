// @ts-check
// The approval inbox.
import { get, post } from './client.js'

/** @typedef {import('./client.js').Label} Label */
/** @typedef {'todo' | 'done' | 'cc' | 'started' | 'returned'} Box returned: my requests sent back to me (with who and why) */
/** @typedef {'approve' | 'reject' | 'return' | 'transfer' | 'delegate' | 'add_signer' | 'comment' | 'read'} TaskAction */
/** @typedef {{ id: number, instance_id: number, status: string, form: string, record_id: number, [more: string]: any }} Task */

/**
 * @param {Box} box @param {{ limit?: number, offset?: number }} [page] at most ``limit`` items (the server's default 50)
 * @returns {Promise<{ items: Task[], counts: Record<string, number> }>}
 */
export const listTasks = (box, page = {}) => get('/api/tasks', { box, ...page })
/** @returns {Promise<Record<string, number>>} how many tasks each box holds */
export const taskCounts = () => get('/api/tasks/counts')
/** @param {number} taskId @param {TaskAction} action @param {Record<string, any>} body opinion, user, node, position */
export const actOnTask = (taskId, action, body) => post(`/api/tasks/${taskId}/${action}`, body)
/**
 * 批量审批: approve or reject several of my tasks with one opinion; each is decided on its own.
 * @param {'approve' | 'reject'} action @param {number[]} taskIds @param {string} [comment]
 * @returns {Promise<{ results: { task_id: number, ok: boolean, status?: string, error?: any }[], done: number, failed: number }>}
 */
export const decideTasks = (action, taskIds, comment) => post('/api/tasks/batch', { action, task_ids: taskIds, comment })

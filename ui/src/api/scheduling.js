// @ts-check
// The schedule board: example problems, solving, re-planning around pins and breakdowns.
import { get, post } from './client.js'

/** @typedef {{ format: string, orders: any[], resources: any[], [more: string]: any }} ScheduleProblem */
/** @typedef {{ gantt: { tasks: any[], [more: string]: any }, kpis?: Record<string, any>, [more: string]: any }} Solution */

/** @param {{ orders: number, machines: number }} size @returns {Promise<ScheduleProblem>} a generated example */
export const exampleProblem = (size) => get('/api/scheduling/example', size)
/** @param {{ problem: ScheduleProblem, [more: string]: any }} body @returns {Promise<Solution>} */
export const solveSchedule = (body) => post('/api/scheduling/solve', body)
/** Re-plan around pins or a breakdown. @param {Record<string, any>} body @returns {Promise<Solution>} */
export const reschedule = (body) => post('/api/scheduling/reschedule', body)

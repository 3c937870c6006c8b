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

/** @typedef {{ problem: ScheduleProblem | null, solution: Solution | null, unplanned: string[], pinned: string[], notes?: any[], message?: Record<string, string> }} CurrentPlan */
/** @typedef {{ summary: Record<string, any>, written: boolean, changed: Record<string, number> | null, solution: Solution }} PlanResult */

/** The plan in force on the plant's orders (what is written on the tasks, no solving). @returns {Promise<CurrentPlan>} */
export const currentPlan = () => get('/api/scheduling/current')
/** Plan the plant's released orders; apply false previews, true writes. @param {{ time_limit?: number, apply?: boolean }} body @returns {Promise<PlanResult>} */
export const planPlant = (body) => post('/api/scheduling/plan', body)
/** Pin a task on a machine from a time (ISO), or unpin it (start null). @param {{ task: string | number, machine?: string, start: string | null }} body @returns {Promise<Record<string, any>>} the task */
export const pinTask = (body) => post('/api/scheduling/pin', body)

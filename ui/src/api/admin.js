// @ts-check
// Users, roles and departments (administrators).
import { get, patch, post, put } from './client.js'

/** @typedef {import('./client.js').Label} Label */
/** @typedef {{ id: number, username: string, display_name?: string, is_admin: boolean, roles: string[], department?: string | null }} User */
/** @typedef {{ name: string, label?: Label | null }} Role */
/** @typedef {{ id: number, username: string, display_name: string, is_active: boolean }} Person */
/** @typedef {{ id: number, code: string, name: string, parent?: string | null, parent_id?: number | null, head?: Person | null, deputy?: Person | null, members?: number }} Department */

/** @returns {Promise<User[]>} */
export const listUsers = () => get('/api/admin/users')
/** @returns {Promise<Role[]>} */
export const listRoles = () => get('/api/admin/roles')
/** @returns {Promise<Department[]>} */
export const listDepartments = () => get('/api/admin/departments')

/** @param {{ username: string, display_name?: string, password: string, department?: string | null, is_admin?: boolean }} user */
export const createUser = (user) => post('/api/admin/users', user)
/** @param {Role} role */
export const createRole = (role) => post('/api/admin/roles', role)
/** @param {{ code: string, name: string, parent?: string | null, head?: string | null, deputy?: string | null }} department */
export const createDepartment = (department) => post('/api/admin/departments', department)
/** Change what is given (null clears parent, head or deputy; people by username).
 * @param {string} code @param {{ name?: string, parent?: string | null, head?: string | null, deputy?: string | null }} change */
export const updateDepartment = (code, change) => patch(`/api/admin/departments/${encodeURIComponent(code)}`, change)
/** @param {number} userId @param {string[]} roles */
export const setUserRoles = (userId, roles) => put(`/api/admin/users/${userId}/roles`, { roles })

// @ts-check
// Signing in and who is signed in.
import { get, post } from './client.js'

/** @typedef {{ id: number, username: string, display_name?: string, is_admin: boolean, roles?: string[], department?: string | null }} Me */

/** Exchange a user name and password for a bearer token.
 * @param {string} username @param {string} password
 * @returns {Promise<{ access_token: string, token_type: string }>} */
export const requestToken = (username, password) => post('/api/auth/token', new URLSearchParams({ username, password }))

/** @returns {Promise<Me>} the signed-in user */
export const fetchMe = () => get('/api/auth/me')

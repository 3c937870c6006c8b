// @ts-check
// 通知 / in-app notifications: what the platform sent the signed-in user (SPC alarms, inspection lots to
// inspect, workflow events, scheduled reports). A notification's ``link`` is an app route written without
// "#" (e.g. "/spc?plan=1&char_seq=1", "/inspect/5"), opened with the router; a link under the API is a file
// (a scheduled report's download) fetched with the session's token.
import { get, openBlob, post } from './client.js'

/** @typedef {{ id: number, kind: string, title: string, body: string | null, link: string | null,
 *   created_at: string, read_at: string | null }} Notification */

/** My notifications, newest first, with how many are unread.
 * @param {{ unread?: boolean, limit?: number }} [q] @returns {Promise<{ unread: number, items: Notification[] }>} */
export const listNotifications = (q = {}) => get('/api/notifications', { limit: q.limit ?? 30, ...(q.unread ? { unread: 1 } : {}) })

/** Mark some (ids) or all (no ids) of my notifications read. @param {number[]} [ids] @returns {Promise<{ marked: number }>} */
export const markNotificationsRead = (ids) => post('/api/notifications/read', ids && ids.length ? { ids } : {})

/** True when the link is a file the API serves (not a page of the app). @param {string | null | undefined} link */
export const isFileLink = (link) => /^\/api\//.test(String(link || ''))

/** Open a file link (a report's download) in a new tab with the session's token. @param {string} link */
export const openFileLink = (link) => openBlob(String(link))

// @ts-check
// Stored files (attachments).
import { download, get, post } from './client.js'

/** @typedef {{ id: string, filename: string, size: number, content_type: string }} FileMeta */

/** @param {File} file @returns {Promise<FileMeta>} */
export function uploadFile(file) {
  const body = new FormData()
  body.append('file', file)
  return post('/api/attachments', body)
}
/** @param {string} id @returns {Promise<FileMeta>} */
export const fetchFileMeta = (id) => get(`/api/attachments/${id}/meta`)
/** @param {string} id @param {string} filename */
export const downloadFile = (id, filename) => download(`/api/attachments/${id}`, {}, filename)

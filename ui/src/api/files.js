// @ts-check
// Stored files (attachments).
import { api, download, get, post } from './client.js'

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
/** A stored image as a blob: URL for a thumbnail (fetched with the token; the caller revokes it).
 * @param {string} id @returns {Promise<string>} */
export async function fileBlobUrl(id) {
  const res = await api('GET', `/api/attachments/${id}`, undefined, { raw: true })
  return URL.createObjectURL(await res.blob())
}

// Stored files as the web app shows them: name and size by public id, fetched once per id from
// GET /api/attachments/{id}/meta (the same read check as the download), or remembered from the upload.
import { fetchFileMeta } from '../api/files.js'

const known = new Map()   // id -> Promise<{id, filename, size, content_type} | null>

export function rememberFile(meta) { known.set(meta.id, Promise.resolve(meta)) }

export function fileMeta(id) {
  if (!known.has(id)) known.set(id, fetchFileMeta(id).catch(() => { known.delete(id); return null }))
  return known.get(id)
}

// A size in words a person reads: 512 B, 34 KB, 2.0 MB.
export function fileSize(n) {
  if (n == null) return ''
  if (n < 1024) return `${n} B`
  if (n < 1048576) return `${Math.round(n / 1024)} KB`
  return `${(n / 1048576).toFixed(1)} MB`
}

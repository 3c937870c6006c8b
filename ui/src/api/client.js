// @ts-check
// The one way the app talks to the platform: JSON over /api with the bearer token. Views never call
// it with a path: they call the typed functions of one module per area (auth.js, records.js, …) here.
// Errors keep the platform's shape: {code, message:{zh-CN,en}, problems:[{path, message}]};
// an unreachable server (status 0) is worded by errText() in i18n.js.
const TOKEN = 'mom.token'

/** The bearer token, kept in localStorage. @type {{ token: string | null }} */
export const auth = {
  get token() { return localStorage.getItem(TOKEN) },
  set token(v) { v ? localStorage.setItem(TOKEN, v) : localStorage.removeItem(TOKEN) },
}

/** Query parameters: empty values are left out, lists are sent comma-separated.
 * @typedef {Record<string, string | number | boolean | null | undefined | Array<string | number>>} Params */
/** A label in every language the platform speaks.
 * @typedef {{ 'zh-CN'?: string, en?: string } | string} Label */
/** A problem the server found, at a JSON pointer (`/fields/3/formula`).
 * @typedef {{ path: string, message: Label, code?: string }} Problem */

/** A failed call, with the platform's error shape. */
export class ApiError extends Error {
  /** @param {number} status HTTP status (0: the server cannot be reached) @param {any} body */
  constructor(status, body) {
    super(typeof body?.message === 'object' ? body.message['zh-CN'] : String(body?.message || body?.detail || status))
    this.status = status
    this.code = body?.code || 'error'
    this.body = body || {}
    this.problems = body?.problems || []
  }
  /** @param {string} locale @returns {string} */
  text(locale) {
    const m = this.body.message
    if (m && typeof m === 'object') return m[locale] || m['zh-CN'] || m.en
    return m || (typeof this.body.detail === 'string' ? this.body.detail : `HTTP ${this.status}`)
  }
}

/** @param {Params} [params] @returns {string} `?a=1&b=x,y`, or '' */
export function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue
    if (Array.isArray(v)) { if (v.length) q.set(k, v.join(',')) } else q.set(k, String(v))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

let onUnauthorized = () => {}
/** @param {() => void} fn called when the server answers 401 (the session ended) */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn }

/**
 * Call the platform. JSON in and out; FormData/URLSearchParams bodies are sent as they are.
 * @param {'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} method
 * @param {string} path starting with /api/
 * @param {any} [body]
 * @param {{ raw?: boolean, params?: Params }} [options] raw: the Response itself (files)
 * @returns {Promise<any>}
 */
export async function api(method, path, body, { raw = false, params } = {}) {
  /** @type {Record<string, string>} */
  const headers = {}
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`
  let payload
  if (body instanceof FormData || body instanceof URLSearchParams) payload = body
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body) }
  let res
  try {
    res = await fetch(path + query(params), { method, headers, body: payload })
  } catch (e) {
    throw new ApiError(0, null)
  }
  if (res.status === 401 && !path.startsWith('/api/auth/token')) onUnauthorized()
  if (!res.ok) {
    let data = null
    try { data = await res.json() } catch (e) { /* not JSON */ }
    throw new ApiError(res.status, data)
  }
  if (raw) return res
  if (res.status === 204) return null
  const type = res.headers.get('content-type') || ''
  return type.includes('json') ? res.json() : res.text()
}

/** @type {(path: string, params?: Params) => Promise<any>} */
export const get = (path, params) => api('GET', path, undefined, { params })
/** @type {(path: string, body?: any, params?: Params) => Promise<any>} */
export const post = (path, body, params) => api('POST', path, body, { params })
/** @type {(path: string, body?: any) => Promise<any>} */
export const put = (path, body) => api('PUT', path, body)
/** @type {(path: string, body?: any) => Promise<any>} */
export const patch = (path, body) => api('PATCH', path, body)
/** @type {(path: string) => Promise<any>} */
export const del = (path) => api('DELETE', path)

// Download a file the API makes (export, print): fetch with the token, then save it.
/** @param {string} path @param {Params} params @param {string} fallbackName @returns {Promise<string>} the file name */
export async function download(path, params, fallbackName) {
  return saveResponse(await api('GET', path, undefined, { raw: true, params }), fallbackName)
}

/** Save a file answer (its Content-Disposition name, else ``fallbackName``) as a browser download; returns the name. */
export async function saveResponse(res, fallbackName) {
  const blob = await res.blob()
  const cd = res.headers.get('content-disposition') || ''
  const m = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(cd)
  const name = m ? decodeURIComponent(m[1] || m[2]) : fallbackName
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = name
  document.body.appendChild(a)
  a.click()
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove() }, 1000)
  return name
}

// Open an HTML/PDF the API makes in a new tab (print preview).
/** @param {string} path @param {Params} params */
export async function openBlob(path, params) {
  const res = await api('GET', path, undefined, { raw: true, params })
  const url = URL.createObjectURL(await res.blob())
  window.open(url, '_blank')
}

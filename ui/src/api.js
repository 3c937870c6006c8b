// The one way the app talks to the platform: JSON over /api with the bearer token.
// Errors keep the platform's shape: {code, message:{zh-CN,en}, problems:[{path, message}]};
// an unreachable server (status 0) is worded by errText() in i18n.js.
const TOKEN = 'mom.token'

export const auth = {
  get token() { return localStorage.getItem(TOKEN) },
  set token(v) { v ? localStorage.setItem(TOKEN, v) : localStorage.removeItem(TOKEN) },
}

export class ApiError extends Error {
  constructor(status, body) {
    super(typeof body?.message === 'object' ? body.message['zh-CN'] : String(body?.message || body?.detail || status))
    this.status = status
    this.code = body?.code || 'error'
    this.body = body || {}
    this.problems = body?.problems || []
  }
  text(locale) {
    const m = this.body.message
    if (m && typeof m === 'object') return m[locale] || m['zh-CN'] || m.en
    return m || (typeof this.body.detail === 'string' ? this.body.detail : `HTTP ${this.status}`)
  }
}

export function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue
    if (Array.isArray(v)) { if (v.length) q.set(k, v.join(',')) } else q.set(k, v)
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

let onUnauthorized = () => {}
export function setUnauthorizedHandler(fn) { onUnauthorized = fn }

export async function api(method, path, body, { raw = false, params } = {}) {
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

export const get = (path, params) => api('GET', path, undefined, { params })
export const post = (path, body, params) => api('POST', path, body, { params })
export const put = (path, body) => api('PUT', path, body)
export const patch = (path, body) => api('PATCH', path, body)
export const del = (path) => api('DELETE', path)

// Download a file the API makes (export, print): fetch with the token, then save it.
export async function download(path, params, fallbackName) {
  const res = await api('GET', path, undefined, { raw: true, params })
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
export async function openBlob(path, params) {
  const res = await api('GET', path, undefined, { raw: true, params })
  const url = URL.createObjectURL(await res.blob())
  window.open(url, '_blank')
}

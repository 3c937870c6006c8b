import { reactive } from 'vue'
import { auth, setUnauthorizedHandler } from './api/client.js'
import { fetchMe, requestToken } from './api/auth.js'
import { fetchForm } from './api/forms.js'
import { taskCounts } from './api/tasks.js'
import { fetchApps } from './api/ui.js'

// What the whole app shares: who is signed in, their menu, their inbox counts.
export const state = reactive({ me: null, apps: [], counts: {}, forms: {} })

export async function signIn(username, password) {
  const t = await requestToken(username, password)
  auth.token = t.access_token
  await loadSession()
}

export function signOut() {
  auth.token = null
  state.me = null
  state.apps = []
}

export async function loadSession() {
  if (!auth.token) return false
  try {
    state.me = await fetchMe()
  } catch (e) {
    signOut()
    return false
  }
  await Promise.all([refreshApps(), refreshCounts()])
  return true
}

export async function refreshApps() { state.apps = await fetchApps() }
export async function refreshCounts() {
  try { state.counts = await taskCounts() } catch (e) { state.counts = {} }
}

// Form definitions as the signed-in user may see them (cached for the session; designers reset it).
export async function formInfo(name, { fresh = false } = {}) {
  if (!state.forms[name] || fresh) state.forms[name] = await fetchForm(name)
  return state.forms[name]
}
export function forgetForm(name) { delete state.forms[name] }

export function canDesign() {
  return !!state.me && (state.me.is_admin || state.apps.some((a) => a.forms.some((f) => f.actions.includes('design'))))
}

setUnauthorizedHandler(() => {
  signOut()
  if (!location.hash.startsWith('#/login')) location.hash = `#/login?next=${encodeURIComponent(location.hash.slice(1))}`
})

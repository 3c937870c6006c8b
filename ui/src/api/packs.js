// @ts-check
// Model packs (administrators): what is installed or can be, the plan of an install / upgrade /
// uninstall, carrying it out against the plan's hash, uploading a pack and exporting the plant's own.
import { api, get, post, saveResponse } from './client.js'

/** @typedef {import('./client.js').Label} Label */
/** @typedef {'install' | 'upgrade' | 'uninstall'} PackAction */
/** @typedef {{ name: string, label: Label, version: string | null, installed_version: string | null,
 *   status: 'available' | 'installed' | 'uninstalled', source: string | null,
 *   origin: 'builtin' | 'path' | 'uploaded' | 'given' | null, depends: Record<string, string>,
 *   upgradable: boolean, modified_files: number }} Pack */
/** @typedef {{ kind: string, kind_label: Label, name: string, label: Label, customised: boolean, retired: boolean }} PackItem */
/** @typedef {Pack & { items: PackItem[], files: { modified: string[], missing: string[], added: string[] } }} PackDetail */
/** @typedef {{ pack: string, kind: string, kind_label: Label, name: string, label: Label,
 *   change: 'added' | 'changed' | 'unchanged' | 'kept' | 'merged' | 'retired' | 'restored' | 'purged', details: Label[] }} PlanItem */
/** @typedef {{ pack: string, kind: string, kind_label: Label, name: string, label: Label, where: Label, plant: any, pack_value: any }} PlanConflict */
/** @typedef {{ action: PackAction, pack: string, label: Label, from_version: string | null, to_version: string | null,
 *   packs: { name: string, label: Label, action: PackAction, from_version: string | null, to_version: string | null }[],
 *   items: PlanItem[], conflicts: PlanConflict[], warnings: Label[], blocked: boolean, reasons: Label[], hash: string }} PackPlan */
/** @typedef {{ demo?: boolean, purge?: boolean }} PlanOptions */

/** @returns {Promise<{ packs: Pack[] }>} every pack found or installed */
export const listPacks = () => get('/api/packs')

/** @param {string} name @returns {Promise<PackDetail>} a pack with its items and changed files */
export const fetchPack = (name) => get(`/api/packs/${encodeURIComponent(name)}`)

/** What an action would do, changing nothing.
 * @param {string} name @param {PackAction} action @param {PlanOptions} [options] @returns {Promise<PackPlan>} */
export const planPack = (name, action, { demo = false, purge = false } = {}) =>
  post(`/api/packs/${encodeURIComponent(name)}/plan`, { action, demo, purge })

/** Carry the action out if the server's fresh plan still has the hash the user saw (else a 409 with the fresh plan).
 * @param {string} name @param {PackAction} action @param {string} hash @param {PlanOptions} [options]
 * @returns {Promise<{ plan: PackPlan, lines: string[] }>} */
export const runPack = (name, action, hash, { demo = false, purge = false } = {}) =>
  post(`/api/packs/${encodeURIComponent(name)}/${action}`, { confirm: hash, demo, purge })

/** @param {File} file a .zip of a pack folder @returns {Promise<{ name: string, version: string, label: Label }>} */
export function uploadPack(file) {
  const body = new FormData()
  body.append('file', file)
  return post('/api/packs/upload', body)
}

/** Export the plant's own configuration as a pack and save the zip the server makes.
 * @param {{ name: string, version: string, label: { 'zh-CN': string, en: string } }} body @returns {Promise<string>} the file name */
export async function exportPack(body) {
  return saveResponse(await api('POST', '/api/packs/export', body, { raw: true }), `${body.name}-${body.version}.zip`)
}

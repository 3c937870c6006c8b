// What a task (or, in 我发起的, a request) says about itself, for the inbox and the home page's 待我审批:
// one set of rules, so both screens show and offer the same.
import { L } from '../i18n.js'

/** The approval a task belongs to (in 我发起的 the item is the request itself). */
export const inst = (it) => it.instance || { id: it.instance_id, form: it.form, record_id: it.record_id, status: it.instance_status }
/** A key for v-for: a request or a task. */
export const keyOf = (it) => (it.instance ? `i${it.instance.id}` : `t${it.id}`)
/** The record's title in words, else its number. */
export const title = (it) => (it.record?.title ? L(it.record.title) : `#${inst(it).record_id}`)
/** The flow's label ({zh-CN, en}). */
export const flowLabel = (it) => it.workflow_label || it.instance?.label
/** The status word's key part: a request's or a task's. */
export const status = (it) => (it.instance ? it.instance.status : it.status)
/** The Element Plus tag colour of that status. */
export const tagType = (it) => ({ pending: 'warning', running: 'warning', approved: 'success', rejected: 'danger' }[status(it)] || 'info')
/** A pending task of mine in the 待办 box: 同意 / 驳回 / more. */
export const decidable = (it, box = 'todo') => box === 'todo' && it.status === 'pending' && !it.instance
/** The steps a return may go back to, as the server offers them. */
export const targets = (it) => it?.return_targets || []
/** The actions under ⋯ for a decidable task. */
export const more = (it) => (it.kind === 'delegate' ? ['comment'] : ['return', 'transfer', 'delegate', 'add_signer', 'comment'])
  .filter((a) => a !== 'return' || targets(it).length)
/** A request of mine an approver sent back to me (the inbox's returned box): 被退回，待修改后重新提交. */
export const isReturned = (it) => !!it.instance && it.instance.status === 'returned' && 'returned' in it
/** The record page of an item. */
export const recordLink = (it) => `/f/${inst(it).form}/${inst(it).record_id}`

/**
 * What a decision did, in words, for its toast: 已同意，已流转到「质量会签」/ 已同意，流程已通过 / 已退回给发起人 …
 * @param {(key: string, args?: object) => string} t vue-i18n's t
 * @param {{ node_id?: string }} task the task decided
 * @param {string} action approve | reject | return | transfer | …
 * @param {{ instance?: { status: string, current_nodes?: { id: string, label: any }[] } }} res the server's answer
 */
export function decisionText(t, task, action, res) {
  const i = res?.instance
  const nodes = (i?.current_nodes || []).filter((n) => n.id !== task?.node_id).map((n) => L(n.label, n.id))
  const here = (i?.current_nodes || []).some((n) => n.id === task?.node_id)
  if (action === 'approve') {
    if (i?.status === 'approved') return t('decided.approvedEnd')
    if (here || !nodes.length) return t('decided.waitOthers')
    return t('decided.toNode', { node: nodes.join(t('app.listSep')) })
  }
  if (action === 'reject') return i?.status === 'rejected' ? t('decided.rejected') : t('inbox.reject')
  if (action === 'return') {
    if (!i || i.status === 'returned') return t('decided.toInitiator')
    return nodes.length ? t('decided.toStep', { node: nodes.join(t('app.listSep')) }) : t('decided.toInitiator')
  }
  return ['transfer', 'delegate', 'add_signer', 'comment', 'read'].includes(action) ? t('decided.' + action) : t('inbox.' + action)
}

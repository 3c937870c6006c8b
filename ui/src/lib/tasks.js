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

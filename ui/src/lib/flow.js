// Workflow definition (mom.workflow/1) <-> the DingTalk-style flow designer. The definition is already a
// tree (nodes; condition/parallel nodes hold branches of nodes), so the designer edits a copy with a
// stable `_uid` per node and branch for rendering; treeToFlow strips them.
import { both } from '../i18n.js'
import { splitBranches } from './choices.js'

const clone = (x) => JSON.parse(JSON.stringify(x))
let uid = 0

function mark(nodes) {
  for (const n of nodes || []) {
    n._uid = `n${++uid}`
    for (const b of n.branches || []) { b._uid = `b${++uid}`; mark(b.nodes) }
  }
  return nodes
}
function strip(x) {
  if (Array.isArray(x)) return x.map(strip)
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).filter(([k]) => k !== '_uid').map(([k, v]) => [k, strip(v)]))
  return x
}

export function flowToTree(def) {
  const t = clone(def)
  t.nodes = mark(t.nodes || [])
  return t
}
export function treeToFlow(tree) { return strip(tree) }

export const NODE_TYPES = ['approval', 'condition', 'parallel', 'cc', 'action', 'subprocess', 'end']

function ids(tree) {
  const out = new Set()
  const walk = (nodes) => { for (const n of nodes || []) { out.add(n.id); for (const b of n.branches || []) walk(b.nodes) } }
  walk(tree.nodes)
  return out
}

export function newNode(type, tree) {
  const taken = ids(tree)
  let i = 1
  while (taken.has(`${type}_${i}`)) i++
  const id = `${type}_${i}`
  const n = { _uid: `n${++uid}`, id, type, label: both(`flowNode.${type}`) }
  // a new approver is a named person (DingTalk's 指定成员): one picker to fill in; existing flows keep theirs
  if (type === 'approval') Object.assign(n, { assignees: [{ type: 'user', users: [] }], mode: 'any' })
  if (type === 'cc') n.assignees = [{ type: 'initiator' }]
  if (type === 'action') n.actions = [{ type: 'set_fields', values: {} }]
  if (type === 'end') n.outcome = 'approved'
  if (type === 'subprocess') Object.assign(n, { workflow: '', values: {} })
  if (type === 'condition') { delete n.label; n.branches = [
    { _uid: `b${++uid}`, label: both('designer.conditionN', { n: 1 }), when: '', nodes: [] },
    { _uid: `b${++uid}`, else: true, nodes: [] }] }
  if (type === 'parallel') { delete n.label; n.branches = [{ _uid: `b${++uid}`, nodes: [] }, { _uid: `b${++uid}`, nodes: [] }] }
  return n
}

/** 按「field」分支: a condition node with one branch per option of ``field`` and 其他情况 last. */
export function newSplit(field, tree) {
  const n = newNode('condition', tree)
  n.branches = splitBranches(field, () => `b${++uid}`)
  return n
}

export function newBranch(node) {
  const b = { _uid: `b${++uid}`, nodes: [] }
  if (node.type === 'condition') {
    b.label = both('designer.conditionN', { n: node.branches.length })
    b.when = ''
    const elseAt = node.branches.findIndex((x) => x.else)
    node.branches.splice(elseAt < 0 ? node.branches.length : elseAt, 0, b)
  } else node.branches.push(b)
}

// Problems from the server (paths like /nodes/1/branches/0/nodes/0/assignees) by node id.
export function problemsByNode(problems, tree) {
  const out = {}
  for (const p of problems || []) {
    const parts = (p.path || '').split('/').filter(Boolean)
    let nodes = tree.nodes
    let hit = null
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === 'nodes' && nodes) { hit = nodes[Number(parts[i + 1])]; i++ }
      else if (parts[i] === 'branches' && hit) { nodes = hit.branches?.[Number(parts[i + 1])]?.nodes; i++ }
    }
    ;(out[hit?.id || '_flow'] ||= []).push(p)
  }
  return out
}

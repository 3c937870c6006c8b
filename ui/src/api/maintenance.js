// @ts-check
// Maintenance (设备维修保养, issue 23): the board (PM orders and plans by week, open repairs with timers), the open
// orders of one machine for the phone page, spare parts issued to an order, MTBF/MTTR. The server keeps every
// permission: who may not read 维修保养工单 gets a 403, never a number or a count.
import { get, post } from './client.js'

/** @param {{ start?: string, weeks?: number }} [params] */
export const fetchBoard = (params) => get('/api/maintenance/board', params)

/** Open orders I may read, of one machine. @param {number} machine */
export const machineOrders = (machine) => get('/api/maintenance/orders', { machine })

/** Issue the order's spare-part lines not yet issued. @param {number} id */
export const issueParts = (id) => post(`/api/maintenance/orders/${id}/issue-parts`, {})

/** @param {{ machine?: string, from?: string, to?: string }} params */
export const fetchReliability = (params) => get('/api/maintenance/reliability', params)

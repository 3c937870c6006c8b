// @ts-check
// Condition monitoring (状态监测, issue 23): each machine's health score 0–100 and its reasons (open drift and limit
// alarms, ISO 10816 vibration zones, recent breakdowns). The server keeps the permissions: 403 without the right
// to read 设备报警; parts the reader may not read are left out of the score.
import { get } from './client.js'

/** Health of the machines with something to report: { machines: [{ machine, score, band, reasons }], at } */
export const fetchHealth = () => get('/api/devices/health')

// @ts-check
// 瓶颈分析 (issue 23): utilisation, OEE losses, planned load and the limiting machine; what-ifs computed by the
// scheduler (an extra shift, an alternative machine, shorter setups). Answer shapes: docs/oee.md (「瓶颈分析」).
import { get, post } from './client.js'

/** The bottleneck view. @param {{ from?: string, to?: string, line?: string, days?: number }} q
 * @returns {Promise<Record<string, any>>} */
export const bottlenecks = (q) => get('/api/oee/bottlenecks', q)

/** One what-if against the base solve. @param {{ machine: string, kind: string, parameters?: Record<string, any>,
 * time_limit?: number }} body @returns {Promise<Record<string, any>>} */
export const bottleneckWhatif = (body) => post('/api/oee/bottlenecks/whatif', body)

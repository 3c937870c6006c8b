// The maintenance screens' words, zh-CN first and English second (kept here, beside the screens).
import { i18n } from '../i18n.js'

const M = {
  nav: ['设备维修', 'Maintenance'],
  title: ['设备维修保养', 'Maintenance'],
  pmCalendar: ['保养日历', 'PM calendar'],
  week: ['周', 'Week'],
  prev: ['上一段', 'Earlier'],
  next: ['下一段', 'Later'],
  today: ['本周', 'This week'],
  noPm: ['没有保养', 'No PM'],
  planDue: ['到期（未开单）', 'due (no order yet)'],
  overduePlans: ['已过期未开单的保养计划', 'PM plans overdue without an order'],
  repairs: ['待处理的维修工单', 'Open repair orders'],
  noRepairs: ['没有待处理的维修工单', 'No open repair order'],
  elapsed: ['已用 {m}', '{m} elapsed'],
  since: ['报修 {at}', 'reported {at}'],
  noAccess: ['你没有查看维修保养工单的权限', 'You may not read maintenance orders'],
  repairTitle: ['设备报修 / 维修', 'Report / repair'],
  scanPh: ['扫设备二维码或输入设备编号，回车', 'Scan the machine QR or type its code, Enter'],
  pick: ['或从列表选择设备', 'or pick the machine'],
  guideTitle: ['怎样报修', 'How to report a fault'],
  guideScan: ['扫描设备上的二维码（扫码后自动回车），或在上面输入设备编号后回车，或从列表选择设备。',
    'Scan the QR code on the machine (the scanner presses Enter), type its code and press Enter, or pick it from the list.'],
  guideReport: ['填写故障现象，选择紧急程度，点「提交报修」：维修工会收到报修。',
    'Describe the fault, choose how urgent it is and tap Submit: maintenance is notified.'],
  guideRepair: ['维修工选好设备后，在这里响应、开始维修、领用备件，并填写故障原因完工。',
    'Technicians: after choosing the machine, respond, start the repair, issue spare parts and finish with the failure cause here.'],
  unknown: ['没有设备「{c}」：请扫设备上的二维码或从列表选择', 'No machine “{c}”: scan its QR or pick it'],
  report: ['报修', 'Report a fault'],
  symptom: ['故障现象', 'Symptom'],
  symptomPh: ['如：主轴异响、漏油、报警号 E203', 'e.g. spindle noise, oil leak, alarm E203'],
  urgency: ['紧急程度', 'Urgency'],
  high: ['停机（紧急）', 'Machine down'],
  medium: ['影响生产', 'Slows production'],
  low: ['不影响生产', 'No impact yet'],
  submit: ['提交报修', 'Submit'],
  reported: ['已报修 {code}，维修工已收到', 'Reported {code}; maintenance is notified'],
  needSymptom: ['请填写故障现象', 'Describe the symptom'],
  orders: ['这台设备的工单', 'Orders of this machine'],
  noOrders: ['这台设备没有待处理的工单', 'No open order on this machine'],
  respond: ['响应', 'Respond'],
  start: ['开始维修', 'Start'],
  finish: ['完工', 'Finish'],
  cause: ['故障原因', 'Failure cause'],
  workDone: ['维修记录', 'Work done'],
  parts: ['备件', 'Spare parts'],
  item: ['备件物料编号', 'Part code'],
  qty: ['数量', 'Qty'],
  location: ['发出库位', 'From location'],
  addIssue: ['领用并发料', 'Add and issue'],
  issued: ['已发料', 'issued'],
  noItem: ['没有物料「{c}」', 'No item “{c}”'],
  saved: ['已保存', 'Saved'],
}

/** The text of ``key`` in the current language, ``{name}`` filled from ``vars``. */
export function mt(key, vars = {}) {
  const pair = M[key] || [key, key]
  const text = i18n.global.locale.value === 'en' ? pair[1] : pair[0]
  return text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''))
}

/** Minutes as 1 h 05 min / 12 min. */
export function duration(min, en = i18n.global.locale.value === 'en') {
  if (min == null) return ''
  const m = Math.max(0, Math.round(min))
  const h = Math.floor(m / 60)
  if (!h) return en ? `${m} min` : `${m} 分钟`
  return en ? `${h} h ${String(m % 60).padStart(2, '0')} min` : `${h} 小时 ${String(m % 60).padStart(2, '0')} 分`
}

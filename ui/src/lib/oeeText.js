// Words of the OEE screens (安灯看板, OEE 分析, 待分类停机), zh-CN first, en second, read through L().
// Kept beside the screens that use them so the shared locale files stay untouched by this feature.
export const STATE = {
  running: { 'zh-CN': '运行', en: 'Running' },
  idle: { 'zh-CN': '待机', en: 'Idle' },
  down: { 'zh-CN': '停机', en: 'Down' },
  setup: { 'zh-CN': '换型调试', en: 'Setup' },
  planned_stop: { 'zh-CN': '计划停机', en: 'Planned stop' },
  none: { 'zh-CN': '无数据', en: 'No data' },
}
export const STATE_COLOR = {
  running: '#1f9d55', idle: '#d69e2e', down: '#e53e3e', setup: '#3182ce', planned_stop: '#718096', none: '#4a5568',
}
export const W = {
  andon: { 'zh-CN': '安灯看板', en: 'Andon board' },
  oee: { 'zh-CN': 'OEE 分析', en: 'OEE' },
  since: { 'zh-CN': '持续', en: 'for' },
  todayOee: { 'zh-CN': '今日 OEE', en: "Today's OEE" },
  alarms: { 'zh-CN': '报警', en: 'alarms' },
  unexplained: { 'zh-CN': '待分类停机', en: 'unexplained stops' },
  updated: { 'zh-CN': '更新于', en: 'updated' },
  back: { 'zh-CN': '返回', en: 'Back' },
  noMachines: { 'zh-CN': '没有可查看的设备（或未安装「设备管理」模型包）', en: 'No machines to show (or the equipment pack is not installed)' },
  from: { 'zh-CN': '起始日期', en: 'From' },
  to: { 'zh-CN': '截止日期', en: 'To' },
  group: { 'zh-CN': '分组', en: 'Group by' },
  byMachine: { 'zh-CN': '按设备', en: 'Machine' },
  byLine: { 'zh-CN': '按产线', en: 'Line' },
  byShift: { 'zh-CN': '按班次', en: 'Shift' },
  byDay: { 'zh-CN': '按日', en: 'Day' },
  query: { 'zh-CN': '查询', en: 'Show' },
  name: { 'zh-CN': '名称', en: 'Name' },
  availability: { 'zh-CN': '可用率 A', en: 'Availability' },
  effectiveness: { 'zh-CN': '效率 E', en: 'Effectiveness' },
  quality: { 'zh-CN': '质量率 QR', en: 'Quality rate' },
  pbt: { 'zh-CN': '计划占用(小时)', en: 'Planned busy (h)' },
  apt: { 'zh-CN': '生产(小时)', en: 'Producing (h)' },
  down: { 'zh-CN': '停机(小时)', en: 'Down (h)' },
  produced: { 'zh-CN': '产量', en: 'Produced' },
  good: { 'zh-CN': '合格', en: 'Good' },
  total: { 'zh-CN': '合计', en: 'Total' },
  overOne: { 'zh-CN': '效率超过 100%：请核对标准工时或计数', en: 'Effectiveness above 100%: check the standard time or the counts' },
  timeline: { 'zh-CN': '状态时间线', en: 'State timeline' },
  day: { 'zh-CN': '日期', en: 'Day' },
  losses: { 'zh-CN': '六大损失', en: 'Six big losses' },
  reasons: { 'zh-CN': '停机原因排列图', en: 'Stop reasons (Pareto)' },
  hours: { 'zh-CN': '小时', en: 'h' },
  pickMachine: { 'zh-CN': '点击一台设备查看当天状态时间线与损失', en: 'Click a machine to see its day and its losses' },
  stopsTitle: { 'zh-CN': '待分类的停机', en: 'Stops waiting for a reason' },
  noStops: { 'zh-CN': '最近 7 天没有待分类的停机', en: 'No unexplained stop in the last 7 days' },
  reason: { 'zh-CN': '停机原因', en: 'Stop reason' },
  note: { 'zh-CN': '备注（可选）', en: 'Note (optional)' },
  save: { 'zh-CN': '保存', en: 'Save' },
  saved: { 'zh-CN': '已保存停机原因', en: 'Stop reason saved' },
  chooseReason: { 'zh-CN': '请选择停机原因', en: 'Choose a stop reason' },
  open: { 'zh-CN': '进行中', en: 'ongoing' },
  setup: { 'zh-CN': '换型(小时)', en: 'Setup (h)' },
  idle: { 'zh-CN': '待机(小时)', en: 'Idle (h)' },
  noData: { 'zh-CN': '无数据(小时)', en: 'No data (h)' },
  noDataValue: { 'zh-CN': '无数据', en: 'no data' },
  noDataTip: { 'zh-CN': '这段计划时间没有任何设备状态记录（设备未接入或采集中断）：单独列出，不计入可用率',
    en: 'Planned time without any recorded machine state (not connected, or collection stopped): shown apart, not counted in availability' },
  reconcile: { 'zh-CN': '计划占用 = 生产 + 换型 + 待机 + 停机 + 无数据', en: 'Planned busy = producing + setup + idle + down + no data' },
  noLosses: { 'zh-CN': '无损失：这一天班次内没有停机、换型、待机或废品', en: 'No losses: no stop, setup, idle or scrap inside the shifts of this day' },
  noStopsDay: { 'zh-CN': '无停机：这一天班次内没有停机或待机', en: 'No stops inside the shifts of this day' },
  shiftNote: { 'zh-CN': '上方灰条是班次；班次外的状态（颜色较淡）不计入 OEE 和损失', en: 'Grey bars are the shifts; states outside them (faded) count in neither OEE nor losses' },
  yesterdayOee: { 'zh-CN': '昨日 OEE', en: "Yesterday's OEE" },
  notStarted: { 'zh-CN': '未开班', en: 'No shift yet today' },
  repairs: { 'zh-CN': '未完成的维修工单', en: 'open repair orders' },
  repairBadge: { 'zh-CN': '维修', en: 'Repair' },
}

// seconds as 1小时5分 / 1h 5m
export function duration(seconds, zh = true) {
  const m = Math.max(0, Math.round(seconds / 60))
  const h = Math.floor(m / 60)
  if (zh) return h ? `${h}小时${m % 60}分` : `${m}分`
  return h ? `${h}h ${m % 60}m` : `${m}m`
}

// the plant's wall-clock parts of a time the server gave with the plant's offset (2026-12-01T08:05:00+08:00):
// the same on every screen whatever the browser's time zone
export const plantHm = (iso) => (iso ? String(iso).slice(11, 16) : '')
export const plantDay = (iso) => (iso ? String(iso).slice(0, 10) : '')

export function pct(v) {
  return v == null ? '—' : `${(v * 100).toFixed(1)}%`
}

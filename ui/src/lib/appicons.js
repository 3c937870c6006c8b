// An icon and a colour for each app (a pack), the same every time: the tile of an app card and its menu
// entry carry it, as 简道云 / 宜搭 app tiles do. Icons are bundled from @element-plus/icons-vue.
import { Box, Collection, DataBoard, Files, Goods, Management, Monitor, Odometer, Operation, Suitcase, TrendCharts } from '@element-plus/icons-vue'

const KNOWN = { core: Operation, demo: DataBoard, quality: Odometer, production: Operation, maintenance: Monitor }
const ICONS = [Management, Files, Collection, Goods, Suitcase, TrendCharts, Box, Monitor, Odometer]
export const COLORS = ['#2f6bff', '#15bc83', '#ff943e', '#8e5cf7', '#3296fa', '#f25c54', '#00a5a8', '#d4a017']

function hash(s) {
  let h = 0
  for (const ch of String(s || '')) h = (h * 31 + ch.codePointAt(0)) >>> 0
  return h
}

export function appIcon(name) {
  return KNOWN[name] || ICONS[hash(name) % ICONS.length]
}

export function appColor(name) {
  return COLORS[hash(name) % COLORS.length]
}

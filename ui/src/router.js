import { createRouter, createWebHashHistory } from 'vue-router'
import { canDesign, formInfo, state, loadSession } from './store.js'

// Every view loads lazily, with the Element Plus components it uses: the shell (main.js, router, store,
// i18n, Vue) stays small. Charts (ECharts) load with the first dashboard or report, the camera
// scanner (ZXing) when the camera is switched on.
const Shell = () => import('./views/Shell.vue')
const Login = () => import('./views/Login.vue')
const Home = () => import('./views/Home.vue')
const RecordList = () => import('./views/RecordList.vue')
const RecordView = () => import('./views/RecordView.vue')
const Inbox = () => import('./views/Inbox.vue')
const ShopFloor = () => import('./views/ShopFloor.vue')
const DashboardView = () => import('./views/DashboardView.vue')
const ReportView = () => import('./views/ReportView.vue')
const FormDesigner = () => import('./views/FormDesigner.vue')
const FlowDesigner = () => import('./views/FlowDesigner.vue')
const ReportDesigner = () => import('./views/ReportDesigner.vue')
const DashboardDesigner = () => import('./views/DashboardDesigner.vue')
const Admin = () => import('./views/Admin.vue')
const DesignHome = () => import('./views/DesignHome.vue')
const ScheduleBoard = () => import('./views/ScheduleBoard.vue')
const Packs = () => import('./views/Packs.vue')
const Dispatch = () => import('./views/Dispatch.vue')
const Stock = () => import('./views/Stock.vue')
const Replenishment = () => import('./views/Replenishment.vue')
const MrpWorkbench = () => import('./views/MrpWorkbench.vue')
const StockScan = () => import('./views/StockScan.vue')
const Trace = () => import('./views/Trace.vue')
const Inspect = () => import('./views/Inspect.vue')
const InspectLot = () => import('./views/InspectLot.vue')
const Spc = () => import('./views/Spc.vue')
const Ncr = () => import('./views/Ncr.vue')
const Capa = () => import('./views/Capa.vue')
const Andon = () => import('./views/Andon.vue')
const Oee = () => import('./views/Oee.vue')
const Bottleneck = () => import('./views/Bottleneck.vue')
const Maintenance = () => import('./views/Maintenance.vue')
const Repair = () => import('./views/Repair.vue')
const NoAccess = () => import('./components/NoAccess.vue')

// Refused pages show 无权限 (views would otherwise open as working screens the server then refuses):
// the designers and admin pages only for those with the right, as the server decides it
// (flows, reports, dashboards and admin: administrators; a form: its design right; a new form: administrators).
const denied = (what) => ({ path: '/denied', query: { what }, replace: true })
const adminOnly = (what) => () => (state.me?.is_admin ? true : denied(what))
async function mayDesignForm(to) {
  if (state.me?.is_admin) return true
  if (!to.params.name) return denied('newForm')
  try {
    const info = await formInfo(String(to.params.name), { fresh: true })
    return info.actions?.includes('design') ? true : denied('formDesign')
  } catch (e) { return denied('formDesign') }
}

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', component: Login, meta: { public: true } },
    { path: '/shopfloor', component: ShopFloor },
    { path: '/andon', component: Andon },
    { path: '/screen/:name', component: DashboardView, props: (r) => ({ name: r.params.name, screen: true }) },
    {
      path: '/', component: Shell, children: [
        { path: '', component: Home },
        { path: 'f/:form', component: RecordList, props: true },
        { path: 'f/:form/new', component: RecordView, props: (r) => ({ form: r.params.form, id: null }) },
        { path: 'f/:form/:id', component: RecordView, props: (r) => ({ form: r.params.form, id: Number(r.params.id) }) },
        { path: 'inbox', component: Inbox },
        { path: 'schedule', component: ScheduleBoard },
        { path: 'dispatch', component: Dispatch },
        { path: 'stock', component: Stock },
        { path: 'replenish', component: Replenishment },
        { path: 'stock/scan', component: StockScan },
        { path: 'mrp', component: MrpWorkbench },
        { path: 'trace', component: Trace },
        { path: 'inspect', component: Inspect },
        { path: 'inspect/:id(\\d+)', component: InspectLot, props: (r) => ({ id: Number(r.params.id) }) },
        { path: 'spc', component: Spc },
        { path: 'ncr', component: Ncr },
        { path: 'ncr/:id(\\d+)', component: Ncr, props: (r) => ({ id: Number(r.params.id) }) },
        { path: 'capa', component: Capa },
        { path: 'capa/:id(\\d+)', component: Capa, props: (r) => ({ id: Number(r.params.id) }) },
        { path: 'oee', component: Oee },
        { path: 'bottleneck', component: Bottleneck },
        { path: 'maintenance', component: Maintenance },
        { path: 'repair', component: Repair },
        { path: 'd/:name', component: DashboardView, props: true },
        { path: 'r/:name', component: ReportView, props: true },
        { path: 'design', component: DesignHome, beforeEnter: () => (canDesign() || denied('design')) },
        { path: 'design/form/:name?', component: FormDesigner, props: true, beforeEnter: mayDesignForm },
        { path: 'design/flow/:name?', component: FlowDesigner, props: true, beforeEnter: adminOnly('flowDesign') },
        { path: 'design/report/:name?', component: ReportDesigner, props: true, beforeEnter: adminOnly('reportDesign') },
        { path: 'design/dashboard/:name?', component: DashboardDesigner, props: true, beforeEnter: adminOnly('dashboardDesign') },
        { path: 'admin', component: Admin, beforeEnter: adminOnly('admin') },
        { path: 'admin/packs', component: Packs, beforeEnter: adminOnly('admin') },   // administrators only, like the menu entry
        { path: 'denied', component: NoAccess, props: (r) => ({ what: String(r.query.what || '') }) },
      ],
    },
  ],
})

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!state.me && !(await loadSession())) return { path: '/login', query: { next: to.fullPath } }
  return true
})

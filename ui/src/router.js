import { createRouter, createWebHashHistory } from 'vue-router'
import { state, loadSession } from './store.js'

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

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', component: Login, meta: { public: true } },
    { path: '/shopfloor', component: ShopFloor },
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
        { path: 'd/:name', component: DashboardView, props: true },
        { path: 'r/:name', component: ReportView, props: true },
        { path: 'design', component: DesignHome },
        { path: 'design/form/:name?', component: FormDesigner, props: true },
        { path: 'design/flow/:name?', component: FlowDesigner, props: true },
        { path: 'design/report/:name?', component: ReportDesigner, props: true },
        { path: 'design/dashboard/:name?', component: DashboardDesigner, props: true },
        { path: 'admin', component: Admin },
        { path: 'admin/packs', component: Packs, beforeEnter: () => (state.me?.is_admin ? true : '/') },   // administrators only, like the menu entry
      ],
    },
  ],
})

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!state.me && !(await loadSession())) return { path: '/login', query: { next: to.fullPath } }
  return true
})

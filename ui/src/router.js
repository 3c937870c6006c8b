import { createRouter, createWebHashHistory } from 'vue-router'
import { state, loadSession } from './store.js'
import Shell from './views/Shell.vue'
import Login from './views/Login.vue'
import Home from './views/Home.vue'
import RecordList from './views/RecordList.vue'
import RecordView from './views/RecordView.vue'
import Inbox from './views/Inbox.vue'
import ShopFloor from './views/ShopFloor.vue'

// Designers and administration load lazily: the app shell stays small.
// charts (ECharts) load with the first dashboard or report, not with the shell
const DashboardView = () => import('./views/DashboardView.vue')
const ReportView = () => import('./views/ReportView.vue')
const FormDesigner = () => import('./views/FormDesigner.vue')
const FlowDesigner = () => import('./views/FlowDesigner.vue')
const ReportDesigner = () => import('./views/ReportDesigner.vue')
const DashboardDesigner = () => import('./views/DashboardDesigner.vue')
const Admin = () => import('./views/Admin.vue')
const DesignHome = () => import('./views/DesignHome.vue')
const ScheduleBoard = () => import('./views/ScheduleBoard.vue')   // frappe-gantt loads with it

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
        { path: 'd/:name', component: DashboardView, props: true },
        { path: 'r/:name', component: ReportView, props: true },
        { path: 'design', component: DesignHome },
        { path: 'design/form/:name?', component: FormDesigner, props: true },
        { path: 'design/flow/:name?', component: FlowDesigner, props: true },
        { path: 'design/report/:name?', component: ReportDesigner, props: true },
        { path: 'design/dashboard/:name?', component: DashboardDesigner, props: true },
        { path: 'admin', component: Admin },
      ],
    },
  ],
})

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!state.me && !(await loadSession())) return { path: '/login', query: { next: to.fullPath } }
  return true
})

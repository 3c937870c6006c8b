import { createI18n } from 'vue-i18n'

// zh-CN first, en second. Labels from definitions ({zh-CN, en}) go through L().
const messages = {
  'zh-CN': {
    app: { name: 'MOM 制造运营平台', home: '首页', inbox: '审批', shopfloor: '车间扫码', schedule: '生产排程', design: '设计', admin: '管理',
      logout: '退出', lang: 'English', loading: '加载中…', empty: '暂无数据', save: '保存', cancel: '取消', ok: '确定',
      delete: '删除', edit: '编辑', new: '新建', search: '搜索', refresh: '刷新', close: '关闭', back: '返回',
      confirm: '确认', saved: '已保存', deleted: '已删除', actions: '操作', more: '加载更多', total: '共 {n} 条',
      forms: '表单', reports: '报表', dashboards: '看板', flows: '审批流程', yes: '是', no: '否', add: '添加', remove: '移除',
      welcome: '欢迎，{name}', noApps: '还没有可用的应用。管理员可以在「设计」中新建表单，或安装行业模型包。' },
    login: { title: '登录', username: '用户名', password: '密码', submit: '登录', failed: '登录失败' },
    list: { filter: '筛选', columns: '显示列', views: '视图', saveView: '保存当前视图', viewName: '视图名称', sharedView: '共享', shareView: '共享给所有能查看此表单的人吗？',
      import: '导入', export: '导出', bulkDelete: '删除所选', selected: '已选 {n} 条', importMode: '遇错处理',
      modeAll: '全部正确才导入', modeSkip: '跳过错误行', importKey: '按字段更新（可选）', importDone: '导入完成：新增 {c}，更新 {u}，未变 {n}，跳过 {s}',
      importErrors: '{n} 行有错误（共 {p} 处），未导入任何数据：请改正文件后重新导入', importSkipped: '已导入 {c} 条，跳过 {m} 行有错误的数据：',
      rowN: '第 {n} 行', header: '表头', file: '文件', row: '行', field: '字段', message: '说明', chooseFile: '选择 CSV/Excel 文件',
      clear: '清除', confirmDelete: '确定删除所选 {n} 条记录？（可恢复）', allFields: '全部字段' },
    record: { details: '详情', timeline: '时间线', approvals: '审批', submit: '提交审批', print: '打印', transitions: '状态操作',
      fixErrors: '请修正标出的错误', addRow: '添加行', created: '创建', updated: '修改', upload: '上传附件', pick: '请选择',
      stale: '记录已被他人修改，请刷新后再保存', submitted: '已提交审批', noTimeline: '暂无变更记录',
      fileLoading: '文件…', fileTooBig: '文件 {name} 有 {size}，超过本栏 {limit} 的上限', fileSmaller: '：请选择更小的文件',
      fileRemove: '：请点文件旁的 × 移除它，再选择更小的文件' },
    inbox: { todo: '待办', done: '已办', cc: '抄送我', started: '我发起的', approve: '同意', reject: '驳回', return: '退回',
      transfer: '转交', delegate: '委派', add_signer: '加签', comment: '评论', read: '已阅', withdraw: '撤回',
      opinion: '审批意见', toUser: '选择人员', empty: '没有待办，干得好！', open: '查看记录', node: '节点', record: '记录',
      returnTo: '退回到', position: '加签位置', before: '之前', after: '之后' },
    taskStatus: { waiting: '等待中', pending: '待处理', approved: '已同意', rejected: '已驳回', returned: '已退回',
      delegated: '已委派', cancelled: '已关闭', cc: '抄送' },
    dash: { fullscreen: '全屏', exitFullscreen: '退出全屏', drill: '明细', params: '参数', autoRefresh: '自动刷新 {s} 秒',
      lastUpdated: '更新于 {t}', widgetError: '此组件无法显示' },
    sched: { title: '生产排程', example: '载入示例', open: '打开问题文件', timeLimit: '求解时间', seconds: '秒', solve: '排程',
      replan: '按 {n} 处拖动重排', emptyHint: '载入示例或打开一个排程问题（mom.schedule-problem/1 JSON）后点「排程」。',
      loaded: '已载入：{o} 个订单，{r} 个资源', lateOrders: '延误订单', wt: '加权延误（分钟）', makespan: '总工期',
      setupHours: '换型（小时）', feasible: '可行', infeasible: '不可行', checker: '独立校验', method: '方法', moved: '变动工序',
      allResources: '全部资源', hour: '8 小时', quarter: '1 天', day: '3 天', legendLate: '延误', legendPinned: '锁定', legendMoved: '变动',
      dragHint: '拖动工序条（也可拖到它能用的其他设备上）即锁定，再点「重排」；滚轮缩放', clearPins: '清除拖动', late: '延误原因', noneLate: '没有延误订单',
      impact: '影响', noImpact: '没有订单变晚', later: '订单 {o} 晚 {m} 分钟', breakdown: '设备故障（假设分析）',
      resource: '设备', from: '开始', hours: '时长（小时）', policy: '中断工序', split: '分段续做', restart: '重新开始',
      runBreakdown: '重排', setup: '换型', badJson: '文件不是有效的 JSON：{msg}' },
    shop: { title: '车间扫码', hint: '扫描条码或手工输入后回车', notFound: '没有找到编码为 {code} 的记录', history: '最近扫描',
      scanCamera: '摄像头扫码', cameraError: '无法打开摄像头：{msg}' },
    designer: { column: '列', row: '行', freeLayout: '自由布局（按列、行摆放）', forms: '表单设计', flows: '流程设计', reports: '报表设计', dashboards: '看板设计', palette: '字段库',
      canvas: '画布', props: '属性', preview: '预览', publish: '发布', plan: '变更计划', planSafe: '以下变更将应用到数据库：',
      retireWarn: '以下字段将被停用（数据保留，可恢复）。确认继续？', retireConfirm: '我确认停用这些字段', published: '已发布 v{v}',
      section: '分组', tabs: '标签页', tab: '标签', columns: '列数', key: '字段名（英文）', labelZh: '中文名', labelEn: '英文名',
      required: '必填', readOnly: '只读', hidden: '隐藏', unique: '唯一', default: '默认值', min: '最小值', max: '最大值',
      maxLength: '最大长度', regex: '正则', options: '选项', refForm: '引用表单', displayField: '显示字段', formula: '公式',
      pattern: '编号规则', help: '帮助', dragHere: '把字段拖到这里', newForm: '新建表单', formName: '表单名（英文）',
      formLabel: '表单标题', permissions: '权限', role: '角色', scope: '数据范围', fieldRules: '字段权限', json: 'JSON',
      ok: '没有错误', errors: '{n} 处错误', addNode: '添加节点', approval: '审批人', condition: '条件分支', parallel: '并行分支',
      ccNode: '抄送人', actionNode: '自动动作', endNode: '结束', branch: '分支', addBranch: '添加分支', else: '其他情况',
      assignees: '审批人', mode: '审批方式', start: '发起', end: '流程结束', visual: '可视化', expression: '表达式',
      sourceForm: '数据来源表单', dimensions: '维度', measures: '指标', chart: '图表', livePreview: '实时预览',
      widgets: '组件', addWidget: '添加组件', bigScreen: '大屏预览', width: '宽', height: '高', refresh: '刷新间隔（秒）',
      scalePrecision: '精度/小数位', precision: '精度', scale: '小数位', trigger: '触发', flowForm: '审批表单' },
    admin: { users: '用户', roles: '角色', departments: '部门', username: '用户名', displayName: '姓名', password: '初始密码',
      department: '部门', isAdmin: '管理员', code: '编码', name: '名称', parent: '上级部门', label: '显示名', setRoles: '设置角色' },
  },
  en: {
    app: { name: 'MOM platform', home: 'Home', inbox: 'Approvals', shopfloor: 'Shop floor', schedule: 'Scheduling', design: 'Design', admin: 'Admin',
      logout: 'Sign out', lang: '中文', loading: 'Loading…', empty: 'No data', save: 'Save', cancel: 'Cancel', ok: 'OK',
      delete: 'Delete', edit: 'Edit', new: 'New', search: 'Search', refresh: 'Refresh', close: 'Close', back: 'Back',
      confirm: 'Confirm', saved: 'Saved', deleted: 'Deleted', actions: 'Actions', more: 'Load more', total: '{n} in all',
      forms: 'Forms', reports: 'Reports', dashboards: 'Dashboards', flows: 'Approval flows', yes: 'Yes', no: 'No', add: 'Add', remove: 'Remove',
      welcome: 'Welcome, {name}', noApps: 'No apps yet. An administrator can create forms under Design, or install an industry pack.' },
    login: { title: 'Sign in', username: 'User name', password: 'Password', submit: 'Sign in', failed: 'Sign-in failed' },
    list: { filter: 'Filter', columns: 'Columns', views: 'Views', saveView: 'Save this view', viewName: 'View name', sharedView: 'shared', shareView: 'Share with everyone who can see this form?',
      import: 'Import', export: 'Export', bulkDelete: 'Delete selected', selected: '{n} selected', importMode: 'On errors',
      modeAll: 'Import only if all rows are valid', modeSkip: 'Skip rows with errors', importKey: 'Update by field (optional)',
      importDone: 'Imported: {c} created, {u} updated, {n} unchanged, {s} skipped',
      importErrors: '{n} row(s) with errors ({p} problem(s)); nothing was imported: correct the file and import again',
      importSkipped: 'Imported {c}, skipped {m} row(s) with errors:', rowN: 'row {n}', header: 'header', file: 'file', row: 'Row', field: 'Field', message: 'Message', chooseFile: 'Choose a CSV/Excel file',
      clear: 'Clear', confirmDelete: 'Delete the {n} selected records? (restorable)', allFields: 'All fields' },
    record: { details: 'Details', timeline: 'Timeline', approvals: 'Approvals', submit: 'Submit for approval', print: 'Print',
      transitions: 'State actions', fixErrors: 'Please fix the marked problems', addRow: 'Add row', created: 'Created',
      updated: 'Changed', upload: 'Upload', pick: 'Choose', stale: 'Someone else changed this record; reload before saving',
      submitted: 'Submitted for approval', noTimeline: 'No changes yet',
      fileLoading: 'file…', fileTooBig: 'The file {name} is {size}, over this field\'s limit of {limit}',
      fileSmaller: ': choose a smaller file', fileRemove: ': remove it with × beside it, then choose a smaller file' },
    inbox: { todo: 'To do', done: 'Done', cc: 'Copied to me', started: 'Started by me', approve: 'Approve', reject: 'Reject',
      return: 'Return', transfer: 'Transfer', delegate: 'Delegate', add_signer: 'Add signer', comment: 'Comment', read: 'Mark read',
      withdraw: 'Withdraw', opinion: 'Opinion', toUser: 'Choose a person', empty: 'Nothing to do. Well done!', open: 'Open record',
      node: 'Step', record: 'Record', returnTo: 'Return to', position: 'Position', before: 'Before', after: 'After' },
    taskStatus: { waiting: 'Waiting', pending: 'Pending', approved: 'Approved', rejected: 'Rejected', returned: 'Returned',
      delegated: 'Delegated', cancelled: 'Closed', cc: 'Copied' },
    dash: { fullscreen: 'Full screen', exitFullscreen: 'Exit full screen', drill: 'Details', params: 'Parameters',
      autoRefresh: 'Refresh every {s} s', lastUpdated: 'Updated {t}', widgetError: 'This widget cannot be shown' },
    sched: { title: 'Production scheduling', example: 'Load example', open: 'Open problem file', timeLimit: 'Time limit', seconds: 's', solve: 'Schedule',
      replan: 'Re-plan with {n} moves', emptyHint: 'Load the example or open a scheduling problem (mom.schedule-problem/1 JSON), then press Schedule.',
      loaded: 'Loaded: {o} orders, {r} resources', lateOrders: 'Late orders', wt: 'Weighted tardiness (min)', makespan: 'Makespan',
      setupHours: 'Changeovers (h)', feasible: 'feasible', infeasible: 'infeasible', checker: 'Independent check', method: 'Method', moved: 'Moved operations',
      allResources: 'All resources', hour: '8 h', quarter: '1 day', day: '3 days', legendLate: 'late', legendPinned: 'pinned', legendMoved: 'moved',
      dragHint: 'Drag a bar (also onto another machine it may use) to pin it, then re-plan; wheel to zoom', clearPins: 'Clear moves', late: 'Why orders are late', noneLate: 'No late orders',
      impact: 'Impact', noImpact: 'No order gets later', later: 'order {o} is {m} min later', breakdown: 'Machine breakdown (what-if)',
      resource: 'Machine', from: 'From', hours: 'Hours', policy: 'Interrupted work', split: 'split and continue', restart: 'restart',
      runBreakdown: 'Re-plan', setup: 'changeover', badJson: 'The file is not valid JSON: {msg}' },
    shop: { title: 'Shop floor scan', hint: 'Scan a barcode, or type it and press Enter', notFound: 'No record with code {code}',
      history: 'Recent scans', scanCamera: 'Scan with camera', cameraError: 'The camera cannot be opened: {msg}' },
    designer: { column: 'Column', row: 'Row', freeLayout: 'Free layout (place by column and row)', forms: 'Form designer', flows: 'Flow designer', reports: 'Report designer', dashboards: 'Dashboard designer',
      palette: 'Fields', canvas: 'Canvas', props: 'Properties', preview: 'Preview', publish: 'Publish', plan: 'Change plan',
      planSafe: 'These changes will be applied to the database:', retireWarn: 'These fields will be retired (data kept, restorable). Go on?',
      retireConfirm: 'I confirm retiring these fields', published: 'Published v{v}', section: 'Section', tabs: 'Tabs', tab: 'Tab',
      columns: 'Columns', key: 'Key (English)', labelZh: 'Chinese label', labelEn: 'English label', required: 'Required',
      readOnly: 'Read-only', hidden: 'Hidden', unique: 'Unique', default: 'Default', min: 'Min', max: 'Max', maxLength: 'Max length',
      regex: 'Pattern', options: 'Options', refForm: 'Referenced form', displayField: 'Display field', formula: 'Formula',
      pattern: 'Number pattern', help: 'Help', dragHere: 'Drag fields here', newForm: 'New form', formName: 'Form name (English)',
      formLabel: 'Form title', permissions: 'Permissions', role: 'Role', scope: 'Row scope', fieldRules: 'Field rules', json: 'JSON',
      ok: 'No problems', errors: '{n} problem(s)', addNode: 'Add a step', approval: 'Approver', condition: 'Condition',
      parallel: 'Parallel', ccNode: 'Copy to', actionNode: 'Action', endNode: 'End', branch: 'Branch', addBranch: 'Add branch',
      else: 'Otherwise', assignees: 'Assignees', mode: 'Mode', start: 'Start', end: 'End of flow', visual: 'Visual', expression: 'Expression',
      sourceForm: 'Source form', dimensions: 'Dimensions', measures: 'Measures', chart: 'Chart', livePreview: 'Live preview',
      widgets: 'Widgets', addWidget: 'Add widget', bigScreen: 'Big-screen preview', width: 'Width', height: 'Height',
      refresh: 'Refresh (s)', scalePrecision: 'Precision/scale', precision: 'Precision', scale: 'Scale', trigger: 'Trigger', flowForm: 'Form' },
    admin: { users: 'Users', roles: 'Roles', departments: 'Departments', username: 'User name', displayName: 'Name',
      password: 'Initial password', department: 'Department', isAdmin: 'Administrator', code: 'Code', name: 'Name',
      parent: 'Parent', label: 'Label', setRoles: 'Set roles' },
  },
}

export const i18n = createI18n({
  legacy: false,
  locale: globalThis.localStorage?.getItem('mom.lang') || 'zh-CN',   // (no storage when unit-tested in Node)
  fallbackLocale: 'zh-CN',
  messages,
})

export function setLocale(l) {
  i18n.global.locale.value = l
  localStorage.setItem('mom.lang', l)
  document.documentElement.lang = l
}

// A definition's label ({"zh-CN": …, "en": …} or a string) in the current language.
export function L(label, fallback = '') {
  if (label == null) return fallback
  if (typeof label === 'string') return label
  const loc = i18n.global.locale.value
  return label[loc] || label['zh-CN'] || label.en || fallback
}

// An API error (or any error) as a sentence in the current language.
export function errText(e) {
  if (e && typeof e.text === 'function') return e.text(i18n.global.locale.value)
  return String(e?.message || e)
}

export function problemText(p) {
  return `${p.path ? p.path + ': ' : ''}${L(p.message)}`
}

// The problems of a failed API call, or one problem carrying its message (designers list them).
export function problemsOf(e) {
  return e?.problems?.length ? e.problems : [{ path: '', message: e?.body?.message || errText(e) }]
}

import { createApp } from 'vue'
import './style.css'
// The badge's style is shared by the shell, the inbox and ElMessage's grouping badge: kept in the entry so
// that no lazy chunk imports it for its side effect alone (that import's place in RecordList varied
// between builds, so ui/dist was not reproducible).
import 'element-plus/es/components/badge/style/css'
import App from './App.vue'
import { router } from './router.js'
import { i18n } from './i18n.js'

// Element Plus is not installed globally: vite.config.js registers its components on demand.
createApp(App).use(i18n).use(router).mount('#app')

import { createApp } from 'vue'
import './style.css'
import App from './App.vue'
import { router } from './router.js'
import { i18n } from './i18n.js'

// Element Plus is not installed globally: vite.config.js registers its components on demand.
createApp(App).use(i18n).use(router).mount('#app')

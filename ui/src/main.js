import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import './style.css'
import App from './App.vue'
import { router } from './router.js'
import { i18n } from './i18n.js'

createApp(App).use(ElementPlus).use(i18n).use(router).mount('#app')

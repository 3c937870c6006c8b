import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Built assets go to dist/, which is committed and installed with the Python package (mom.ui).
export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts'
          if (id.includes('@zxing')) return 'zxing'   // camera scanning only: loads when the camera is switched on
          if (id.includes('node_modules/element-plus') || id.includes('@element-plus')) return 'element-plus'
          if (id.includes('node_modules/vue') || id.includes('node_modules/@vue') || id.includes('node_modules/vue-router') || id.includes('vue-i18n') || id.includes('@intlify')) return 'vue'
        },
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
  test: { environment: 'node', include: ['tests/**/*.test.js'] },
})

import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import AutoImport from 'unplugin-auto-import/vite'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// Built assets go to dist/, which is committed and installed with the Python package (mom.ui).
// Element Plus is registered on demand: each <el-…> tag, v-loading and ElMessage/ElMessageBox bring their own
// component and CSS into the chunk of the view that uses them, so the shell loads only what the shell shows.
export default defineConfig({
  plugins: [
    vue(),
    AutoImport({ resolvers: [ElementPlusResolver()], dts: false }),
    Components({ resolvers: [ElementPlusResolver()], dts: false }),
  ],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      output: {
        // No hoisted transitive imports: with many small chunks their order followed the order chunks
        // were made in, which varied between builds; the preload lists Vite writes load them anyway.
        hoistTransitiveImports: false,
        manualChunks(id) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts'
          if (id.includes('@zxing')) return 'zxing'   // camera scanning only: loads when the camera is switched on
          if (id.includes('node_modules/vue') || id.includes('node_modules/@vue') || id.includes('node_modules/vue-router') || id.includes('vue-i18n') || id.includes('@intlify')) return 'vue'
        },
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
  test: { environment: 'node', include: ['tests/**/*.test.js'] },
})

// The console's build: Vue single-file components compiled ahead of time (no runtime template
// compiler, so the strict CSP needs no 'unsafe-eval'), output to dist/console, served at /console/.
import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // No inline scripts or styles: the CSP allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: true,
    // The build shares the cores with the service's tsc (scripts/ensure.mjs), so Vue's transform
    // takes most of its time; that is expected, and the timing warning would only be noise.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
})

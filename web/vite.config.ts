import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// In development the SPA talks to locally running services directly; in
// production nginx (deploy/nginx.conf) does the same routing on one origin,
// so the app never needs to know any address but its own.
const adminApi = 'http://127.0.0.1:8081';
const ingest = 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/admin/api': { target: adminApi, changeOrigin: false },
      '/v1': { target: ingest, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: true,
    assetsDir: 'assets',
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // Date formatting tests assert exact strings; pin the zone so they do
    // not depend on where the machine runs.
    env: { TZ: 'UTC' },
  },
});

import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { compression } from 'vite-plugin-compression2';

// In development the SPA talks to locally running services directly; in
// production nginx (deploy/nginx.conf) or admin-api itself (SENTORI_WEB_DIR,
// as `make run` does) serves it on the API's origin, so the app never needs
// to know any address but its own.
const adminApi = 'http://127.0.0.1:8081';
const ingest = 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [
    react(),
    // .br and .gz beside each text file of the build, sent by admin-api to
    // clients that accept them (nginx compresses on the fly instead). Source
    // maps are left out: they are never served. Like nginx's
    // gzip_min_length, files under 1 KiB are not worth it.
    compression({ algorithms: ['brotliCompress', 'gzip'], threshold: 1024, exclude: [/\.map$/] }),
  ],
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
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
    // Date formatting tests assert exact strings; pin the zone so they do
    // not depend on where the machine runs.
    env: { TZ: 'UTC' },
  },
});

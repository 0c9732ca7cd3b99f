// Builds the web app (index.html) and the citizens' look-up page
// (tra-cuu/index.html), then writes the service worker with the list of
// every file it must keep for offline use.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const root = import.meta.dirname;

/** Files from public/ that the service worker keeps too. */
const PUBLIC_FILES = ['manifest.webmanifest', 'icons/icon.svg', 'icons/icon-192.png', 'icons/icon-512.png', 'icons/maskable-512.png'];

function serviceWorker(): Plugin {
  return {
    name: 'motcua-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter((f) => !f.endsWith('.map')).sort();
      const hash = createHash('sha256');
      for (const name of files) {
        const item = bundle[name];
        hash.update(name);
        hash.update(item.type === 'chunk' ? item.code : item.source);
      }
      for (const name of PUBLIC_FILES) hash.update(readFileSync(resolve(root, 'public', name)));
      const template = readFileSync(resolve(root, 'sw/sw.js'), 'utf8');
      hash.update(template);
      const version = hash.digest('hex').slice(0, 16);
      // Chromium and every current browser take the woff2 fonts.
      const precache = [...files.filter((f) => !f.endsWith('.woff')), ...PUBLIC_FILES];
      this.emitFile({
        type: 'asset',
        fileName: 'sw.js',
        source: template
          .replace('self.__MOTCUA_VERSION__', JSON.stringify(version))
          .replace('self.__MOTCUA_PRECACHE__', JSON.stringify(precache)),
      });
    },
  };
}

export default defineConfig({
  base: '/',
  build: {
    target: 'es2022',
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        app: resolve(root, 'index.html'),
        lookup: resolve(root, 'tra-cuu/index.html'),
      },
    },
  },
  plugins: [serviceWorker()],
});

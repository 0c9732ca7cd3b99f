// Service worker of Một Cửa Sync: keeps the app shell, the WebAssembly core
// and the fonts so that after the first visit the app opens and works with
// the hub unreachable. The build fills in the version and the file list.
const VERSION = self.__MOTCUA_VERSION__;
const PRECACHE = self.__MOTCUA_PRECACHE__;
const CACHE = `motcua-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(['./', ...PRECACHE].map((f) => new Request(f, { cache: 'reload' })))),
  );
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('motcua-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// What the hub answers live: never from the cache.
const LIVE = ['/api/', '/sync', '/healthz', '/metrics'];

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || LIVE.some((p) => url.pathname.startsWith(p))) return;
  if (request.mode === 'navigate') {
    // Every page of the app is the same shell; the look-up page is its own.
    const shell = url.pathname.startsWith('/tra-cuu') ? 'tra-cuu/index.html' : './';
    event.respondWith(
      caches.open(CACHE).then(async (cache) => (await cache.match(shell)) || fetch(request)),
    );
    return;
  }
  event.respondWith(
    caches.open(CACHE).then(async (cache) => (await cache.match(request, { ignoreSearch: true })) || fetch(request)),
  );
});

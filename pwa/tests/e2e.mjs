// End-to-end test of the web app in Chromium, driven by tests/browser.rs:
// a clerk logs in, the hub goes away, the clerk receives two dossiers and
// records a stage offline, reloads, prints Form 01 (its QR code decoded),
// the hub comes back and everything reaches it by itself; a leader's
// dashboard shows the dossiers and downloads report 06a, a citizen finds one
// by code and another scans its QR code with a (fake) camera, and an
// administrator's screens open. Every screen is saved as a screenshot.
//
// Talks to the Rust side over stdio: prints `@hub stop`, `@hub start`,
// `@check CODE=stage,…` and waits for a line `ok`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import jsQR from 'jsqr';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { encode } from 'uqr';

const HUB = process.env.HUB_URL;
const ARTIFACTS = process.env.ARTIFACTS ?? 'artifacts';
if (!HUB) throw new Error('HUB_URL is not set (tests/browser.rs sets it)');
const PASSWORD = 'motcua2026';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TABLET = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const input = createInterface({ input: process.stdin });
const replies = input[Symbol.asyncIterator]();
async function ask(line) {
  console.log(line);
  const { value } = await replies.next();
  if (value !== 'ok') throw new Error(`${line}: ${value}`);
}

let step = 0;
let passed = 0;
function log(message) {
  console.log(`e2e: ${message}`);
}
function expect(ok, what) {
  if (!ok) throw new Error(`expected: ${what}`);
  passed++;
}
async function shot(page, name, options = {}) {
  step++;
  const file = join(ARTIFACTS, `${String(step).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, ...options });
  log(`screenshot ${file}`);
}

const dirs = [];
async function device(viewport, extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'motcua-chromium-'));
  dirs.push(dir);
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...FLAGS, ...extraArgs],
    viewport,
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  // Refused WebSocket connections while the hub is down are expected.
  page.on('console', (m) => m.type() === 'error' && !m.text().includes('/sync') && log(`console: ${m.text()}`));
  return { context, page };
}

// A camera filming a printed QR code: one frame of a YUV4MPEG2 file, which
// Chromium's fake camera plays in a loop.
function cameraFilming(text) {
  const { size, data } = encode(text, { border: 4 });
  const [W, H] = [640, 480];
  const cell = Math.floor((H - 40) / size);
  const left = Math.floor((W - cell * size) / 2);
  const top = Math.floor((H - cell * size) / 2);
  const luma = Buffer.alloc(W * H, 235);
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++)
      if (data[r][c])
        for (let dy = 0; dy < cell; dy++) {
          const row = (top + r * cell + dy) * W + left;
          luma.fill(16, row + c * cell, row + (c + 1) * cell);
        }
  const chroma = Buffer.alloc(W * H / 2, 128);
  const dir = mkdtempSync(join(tmpdir(), 'motcua-camera-'));
  dirs.push(dir);
  const file = join(dir, 'qr.y4m');
  writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\nFRAME\n`), luma, chroma]));
  return file;
}

async function login(page, username) {
  await page.goto(HUB);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('#sync-status', { timeout: 30_000 });
}

async function waitOnline(page, timeout = 60_000) {
  await page.waitForSelector('#sync-status.online[data-pending="0"]', { timeout });
}

async function decodeQr(page, selector) {
  const png = PNG.sync.read(await page.locator(selector).screenshot());
  const found = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  return found?.data ?? null;
}

async function receive(page, procedureQuery, name, idNumber, phone) {
  await page.click('nav a[href="#/tiep-nhan"]');
  await page.waitForSelector('#procedure-search');
  await page.fill('#procedure-search', procedureQuery);
  await page.locator('.choice').first().click();
  await page.fill('input[name=full_name]', name);
  await page.fill('input[name=id_number]', idNumber);
  await page.fill('input[name=phone]', phone);
  await page.fill('input[name=address]', 'Thôn Đông, xã Tân Phong');
  return page;
}

const browsers = [];
try {
  // ----------------------------------------------------------- the clerk
  const clerk = await device(TABLET);
  browsers.push(clerk.context);
  const page = clerk.page;
  await page.goto(HUB);
  await shot(page, 'login');
  await login(page, 'canbo.tanphong');
  await waitOnline(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  const cached = await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('motcua-')).length);
  expect(cached === 1, 'the service worker cached the app');
  await shot(page, 'counter-online');
  log('clerk logged in and synced; stopping the hub');

  await ask('@hub stop');
  await page.waitForSelector('#sync-status.offline', { timeout: 30_000 });

  await receive(page, 'khai sinh', 'Nguyễn Văn An', '001203001234', '0912 345 678');
  await shot(page, 'receive-form');
  await page.click('#receive-submit');
  await page.waitForSelector('#new-code');
  const code1 = (await page.textContent('#new-code')).trim();
  const appointment1 = (await page.textContent('#new-appointment')).trim();
  expect(/^X0101-\d{6}-\d{4}$/.test(code1), `a dossier code, got ${code1}`);
  await shot(page, 'received-offline');
  const doc1 = await page.getAttribute('#print-01', 'href');

  await receive(page, 'kết hôn', 'Trần Thị Bình', '001203009999', '0988000222');
  await page.click('#receive-submit');
  await page.waitForSelector('#new-code');
  const code2 = (await page.textContent('#new-code')).trim();
  expect(code2 !== code1, 'two different codes');
  await page.click('a[href^="#/ho-so/"]');
  await page.waitForSelector('#next-stage');
  await page.selectOption('#next-stage', 'handed_over');
  await page.fill('#stage-note', 'Chuyển công chức tư pháp – hộ tịch');
  await page.click('#record-stage');
  await page.waitForFunction(() => document.querySelector('#dossier-stage')?.textContent?.includes('Chuyển hồ sơ'));
  await shot(page, 'dossier-stage-recorded');
  expect((await page.textContent('#pending-count')).includes('2'), 'two dossiers wait for the hub');

  log('reloading with the hub down');
  await page.reload();
  await page.waitForSelector('#dossier-code', { timeout: 30_000 });
  expect((await page.textContent('#dossier-code')).trim() === code2, 'the dossier page opens again from the device');
  await page.click('nav a[href="#/"]');
  await page.waitForSelector('#search');
  await page.fill('#search', 'nguyen van an');
  await page.waitForSelector(`.dossier-row[data-code="${code1}"]`);
  expect((await page.locator('.dossier-row').count()) === 1, 'the search without diacritics finds exactly the one dossier');
  await page.fill('#search', '');
  await page.waitForSelector(`.dossier-row[data-code="${code2}"]`);
  expect((await page.locator('.dossier-row').count()) === 2, 'both dossiers are still there after the reload');
  expect(await page.locator('#sync-status.offline').count() === 1, 'the status bar says offline');
  await shot(page, 'counter-offline-after-reload');

  // Form 01, printed offline.
  await page.goto(`${HUB}/${doc1}`);
  await page.waitForSelector('#form-01');
  expect((await page.textContent('#form-code')).trim() === code1, 'Form 01 carries the code');
  expect((await page.textContent('#form-applicant')).trim() === 'Nguyễn Văn An', 'Form 01 carries the applicant');
  const formAppointment = (await page.textContent('#form-appointment')).trim();
  const day = appointment1.match(/\d{2}\/\d{2}\/\d{4}/)?.[0];
  expect(day && formAppointment.includes(day), `Form 01 carries the appointment ${day}: ${formAppointment}`);
  const qr = await decodeQr(page, '#form-qr');
  expect(qr === `${HUB}/tra-cuu/?ma=${code1}`, `the QR code opens the public look-up of ${code1}, decoded ${qr}`);
  const fontsOk = await page.evaluate(() => document.fonts.check('16px "Be Vietnam Pro"', 'Nguyễn Thị Hoa'));
  expect(fontsOk, 'the embedded font renders Vietnamese offline');
  await page.emulateMedia({ media: 'print' });
  await shot(page, 'form-01-print');
  await page.pdf({ path: join(ARTIFACTS, 'form-01.pdf'), format: 'A4', printBackground: true });
  await page.emulateMedia({ media: 'screen' });

  // A supplement request (Form 02), offline too.
  await page.goto(`${HUB}/${doc1.replace('#/in/01/', '#/ho-so/')}`);
  await page.waitForSelector('#dossier-code');
  await page.click('details.supplement summary');
  await page.fill('#missing-docs', 'Bản sao giấy chứng sinh có chứng thực');
  await page.click('#request-supplement');
  await page.waitForFunction(() => document.querySelector('#dossier-stage')?.textContent?.includes('Yêu cầu bổ sung'));
  await shot(page, 'dossier-supplement-requested');
  await page.click('#print-02');
  await page.waitForSelector('#form-02');
  expect((await page.textContent('#form-02')).includes('Bản sao giấy chứng sinh có chứng thực'), 'Form 02 lists the missing document');
  await page.emulateMedia({ media: 'print' });
  await shot(page, 'form-02-print');
  await page.emulateMedia({ media: 'screen' });

  await page.goto(`${HUB}/#/han`);
  await page.waitForSelector('#due-soon');
  await shot(page, 'deadlines');
  await page.goto(`${HUB}/#/hop-thu`);
  await page.waitForSelector('.page-head');
  await shot(page, 'inbox');

  // The hub comes back: nothing to click.
  log('starting the hub again');
  await ask('@hub start');
  await waitOnline(page, 90_000);
  expect((await page.textContent('#pending-count')).includes('Đã gửi hết'), 'nothing left waiting');
  await shot(page, 'inbox-online-again');
  await ask(`@check ${code1}=supplement_requested,${code2}=handed_over`);
  log('the hub has both dossiers');

  // ---------------------------------------------------------- the leader
  const leader = await device(PHONE);
  browsers.push(leader.context);
  await login(leader.page, 'lanhdao.tanphong');
  await waitOnline(leader.page);
  await leader.page.waitForSelector('#figures');
  const received = await leader.page.textContent('#figures [data-column=received] strong');
  expect(received.trim() === '2', `the dashboard counts the two dossiers, shows ${received}`);
  await shot(leader.page, 'leader-dashboard-phone');
  await leader.page.click('#figures [data-column=received]');
  await leader.page.waitForSelector('#drill-down');
  for (const code of [code1, code2]) {
    expect((await leader.page.locator(`#drill-down .dossier-row[data-code="${code}"]`).count()) === 1, `the figure opens its list with ${code}`);
  }
  await shot(leader.page, 'leader-drill-down-phone');

  // The official files come from the hub: report 06a as an XLSX download,
  // and its print page in a new tab.
  const [download] = await Promise.all([leader.page.waitForEvent('download'), leader.page.click('#export-06a-xlsx')]);
  const xlsxName = download.suggestedFilename();
  expect(/^.+\.xlsx$/.test(xlsxName), `report 06a downloads as an XLSX file, named ${xlsxName}`);
  expect(readFileSync(await download.path()).subarray(0, 2).toString() === 'PK', 'the download is an XLSX (zip) file');
  const [printed] = await Promise.all([leader.context.waitForEvent('page'), leader.page.click('#export-06a-print')]);
  await printed.waitForURL(/^blob:/, { timeout: 30_000 });
  await printed.waitForSelector('table');
  expect((await printed.content()).includes('Báo cáo tình hình, kết quả giải quyết thủ tục hành chính'), 'the print page of report 06a opens');
  await shot(printed, 'leader-report-06a-print');
  await printed.close();

  // --------------------------------------------------------- the citizen
  const citizen = await leader.context.newPage();
  await citizen.goto(`${HUB}/tra-cuu/?ma=${code2}`);
  await citizen.waitForSelector('#status');
  expect((await citizen.textContent('#status')).includes('Đang xử lý'), 'the citizen sees the status');
  expect((await citizen.textContent('#appointment')).length > 0, 'and the appointment');
  expect(!(await citizen.content()).includes('Trần Thị Bình'), 'and no personal data');
  await shot(citizen, 'citizen-lookup-phone');

  // A citizen's phone scans the QR code printed on the receipt.
  const camera = cameraFilming(`${HUB}/tra-cuu/?ma=${code1}`);
  const scanner = await device(PHONE, ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${camera}`]);
  browsers.push(scanner.context);
  await scanner.page.goto(`${HUB}/tra-cuu/`);
  await scanner.page.click('#scan');
  await scanner.page.waitForSelector('#status', { timeout: 30_000 });
  expect((await scanner.page.inputValue('#code')) === code1, `scanning the receipt's QR code fills in ${code1}`);
  expect((await scanner.page.textContent('#status')).length > 0, 'and shows its status');
  await shot(scanner.page, 'citizen-scanned-phone');

  // ----------------------------------------------------- the administrator
  const admin = await device(TABLET);
  browsers.push(admin.context);
  await login(admin.page, 'admin');
  await admin.page.waitForSelector('table.list');
  await shot(admin.page, 'admin-users');
  await admin.page.goto(`${HUB}/#/quan-tri/thiet-bi`);
  await admin.page.fill('input[name=name]', 'Máy tính bảng quầy 3');
  await admin.page.click('#admin-body button[type=submit]');
  await admin.page.waitForSelector('#enrolment-code');
  const enrolQr = await decodeQr(admin.page, '#enrolment .qr');
  expect(enrolQr === (await admin.page.textContent('#enrolment-code')).trim(), 'the enrolment QR carries the one-time code');
  await shot(admin.page, 'admin-devices');
  await admin.page.goto(`${HUB}/#/quan-tri/thu-tuc`);
  await admin.page.waitForSelector('.choice');
  await shot(admin.page, 'admin-procedures');
  await admin.page.goto(`${HUB}/#/quan-tri/lich`);
  await admin.page.waitForSelector('.days');
  await shot(admin.page, 'admin-calendar');

  // English is one click away.
  await page.goto(`${HUB}/#/`);
  await page.click('.topbar button:has-text("English")');
  await page.waitForSelector('text=Counter');
  await shot(page, 'counter-english');

  console.log(`e2e: ${passed} passed, 0 failed; screenshots in ${ARTIFACTS}`);
} catch (e) {
  console.log(`e2e: ${passed} passed, 1 failed: ${e.stack ?? e}`);
  for (const b of browsers) {
    const p = b.pages()[0];
    if (p) await p.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => undefined);
  }
  process.exitCode = 1;
} finally {
  for (const b of browsers) await b.close().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  input.close();
}
writeFileSync(join(ARTIFACTS, 'README.txt'), 'Screenshots of the browser end-to-end test (tests/browser.rs, pwa/tests/e2e.mjs).\n');

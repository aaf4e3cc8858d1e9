// Measures the run page on a long run, by hand (not part of the test suite):
//
//   LEMMA_URL=http://127.0.0.1:4318 LEMMA_API_KEY=… node perf/run-page.mjs 100000
//   LEMMA_URL=… LEMMA_API_KEY=… LEMMA_RUN=<run id> node perf/run-page.mjs
//
// Posts a run of the given size (lib/long-run.mjs) unless LEMMA_RUN names one, then opens its
// page in Chromium and reports: time to the first rows, long tasks (> 50 ms, and how many over
// 100 ms) while scrolling the tree from top to bottom and jumping around, and the JS heap after.
import { API_KEY, BASE_URL, launch, open } from '../lib/harness.mjs';
import { postLongRun } from '../lib/long-run.mjs';

const size = Number(process.argv[2] || 10_000);
let runId = process.env.LEMMA_RUN;
if (!runId) {
  const t0 = Date.now();
  runId = (await postLongRun(BASE_URL, API_KEY, size)).traceId;
  console.log(`posted ${size} spans in ${Date.now() - t0} ms: run ${runId}`);
}

const browser = await launch();
for (const round of ['cold', 'warm']) {
  const { page, done } = await open(browser, '/favicon.ico');
  await page.addInitScript(() => {
    window.__long = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push(e.duration); })
      .observe({ type: 'longtask', buffered: true });
    new MutationObserver((_, observer) => {
      if (document.querySelector('.tree-row')) {
        window.__firstRows = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(`/runs/${runId}`);
  await page.locator('.tree-row').first().waitFor({ timeout: 60_000 });
  const firstRows = await page.evaluate(() => window.__firstRows);
  const opening = await page.evaluate(() => window.__long.splice(0));

  // Scroll: 80 steps from top to bottom, one per frame, then jumps to a few places.
  await page.evaluate(async () => {
    const el = document.querySelector('[data-testid="span-tree"]');
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    for (let i = 1; i <= 80; i += 1) {
      el.scrollTop = (el.scrollHeight * i) / 80;
      await frame();
    }
    for (const f of [0.5, 0.1, 0.9, 0.33, 0]) {
      el.scrollTop = el.scrollHeight * f;
      await frame();
      await new Promise((r) => setTimeout(r, 300));
    }
  });
  await page.waitForFunction(() => !document.querySelector('.span-tree .row-loading'), null, { timeout: 60_000 });
  const scrolling = await page.evaluate(() => window.__long.splice(0));
  const rows = await page.locator('.span-tree .vlist-row').count();

  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  const fmt = (list) => `${list.length} (max ${Math.round(Math.max(0, ...list))} ms, ${list.filter((d) => d > 100).length} over 100 ms)`;
  console.log(`${round}: first rows ${Math.round(firstRows)} ms; long tasks opening ${fmt(opening)}, scrolling ${fmt(scrolling)}; `
    + `${rows} rows in the DOM; JS heap ${(heap.usedSize / 1e6).toFixed(1)} MB used of ${(heap.totalSize / 1e6).toFixed(1)} MB`);
  await done();
}
await browser.close();

// The live page of rtml serve in a real browser: Debian's chromium, headless, driven over
// the DevTools protocol by puppeteer-core. A server is started with a model; the page is
// opened; Elec2 labels are sent; the page's counters and its chart must change, and no
// request may leave the server. A screenshot is left in the output folder.
//   node tests/page/live_page_test.mjs RTML_BINARY DATA_DIR OUT_DIR
import {spawn} from "node:child_process";
import {readFileSync, mkdirSync} from "node:fs";
import {gunzipSync} from "node:zlib";
import puppeteer from "puppeteer-core";

const [rtml, defaultDataDir, outDir] = process.argv.slice(2);
const dataDir = process.env.RTML_DATA || defaultDataDir;
if (!rtml || !dataDir || !outDir) {
  console.error("usage: live_page_test.mjs RTML_BINARY DATA_DIR OUT_DIR");
  process.exit(2);
}
mkdirSync(outDir, {recursive: true});
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";

let failures = 0;
function check(ok, what) {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) ++failures;
}

// Elec2 rows as learn request bodies.
function elec2(n) {
  const lines = gunzipSync(readFileSync(dataDir + "/elec2.csv.gz")).toString().split("\n");
  const names = lines[0].split(",");
  const out = [];
  for (const line of lines.slice(1, n + 1)) {
    const cells = line.split(",");
    const features = {};
    let label = "";
    names.forEach((name, i) => {
      if (name === "class") label = cells[i];
      else features[name] = Number(cells[i]);
    });
    out.push(JSON.stringify({features, label}));
  }
  return out;
}

// Starts the server on a free port; resolves with its process and base URL.
function startServer() {
  return new Promise((resolve, reject) => {
    const server = spawn(rtml, ["serve", "--listen", "127.0.0.1:0", "--model",
                                "elec=standard_scaler | logistic_regression"],
                         {stdio: ["ignore", "ignore", "pipe"]});
    let err = "";
    const timer = setTimeout(() => reject(new Error("the server did not start: " + err)), 10000);
    server.stderr.on("data", chunk => {
      err += chunk;
      const m = err.match(/http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({server, base: `http://127.0.0.1:${m[1]}`});
      }
    });
    server.on("exit", code => reject(new Error(`the server exited (${code}): ${err}`)));
  });
}

async function learn(base, bodies) {
  for (const body of bodies) {
    const r = await fetch(base + "/v1/models/elec/learn", {method: "POST", body});
    if (r.status !== 200) throw new Error(`learn answered ${r.status}: ${await r.text()}`);
  }
}

const {server, base} = await startServer();
let browser;
try {
  const events = elec2(3000);
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const page = await browser.newPage();
  await page.setViewport({width: 1100, height: 700});
  const foreign = [];
  page.on("request", r => {
    if (!r.url().startsWith(base)) foreign.push(r.url());
  });
  const pageErrors = [];
  page.on("pageerror", e => pageErrors.push(String(e)));
  await page.goto(base + "/?every=200", {waitUntil: "load"});
  await page.waitForSelector('[data-model="elec"] [data-stat="learned"]', {timeout: 10000});
  const read = () => page.evaluate(() => {
    const card = document.querySelector('[data-model="elec"]');
    const stat = k => card.querySelector(`[data-stat="${k}"]`).textContent;
    const line = card.querySelector("polyline");
    return {
      learned: stat("learned"),
      metric: stat("metric"),
      points: line ? line.getAttribute("points").split(" ").filter(Boolean).length : 0,
      status: document.getElementById("status").textContent,
    };
  });
  const before = await read();
  check(before.learned === "0", `a new model shows 0 learned (shows ${before.learned})`);

  await learn(base, events.slice(0, 1500));
  await page.waitForFunction(
      () => document.querySelector('[data-model="elec"] [data-stat="learned"]').textContent ===
            "1500",
      {timeout: 10000}).catch(() => {});
  const middle = await read();
  check(middle.learned === "1500", `the page counts 1500 labels learned (shows ${middle.learned})`);
  check(/^accuracy 0\.\d{4}$/.test(middle.metric), `the rolling metric shows (${middle.metric})`);

  await learn(base, events.slice(1500, 3000));
  await new Promise(r => setTimeout(r, 1000));
  const after = await read();
  check(after.learned === "3000", `the page counts 3000 labels learned (shows ${after.learned})`);
  check(after.points > middle.points && middle.points >= 1,
        `the chart grows as the model learns (${middle.points} then ${after.points} points)`);
  check(after.status.startsWith("up "), `the header says the server is up (${after.status})`);
  check(foreign.length === 0, `no request leaves the server (${foreign.join(", ") || "none"})`);
  check(pageErrors.length === 0, `no script error (${pageErrors.join("; ") || "none"})`);
  const shot = outDir + "/live-page.png";
  await page.screenshot({path: shot});
  console.log("screenshot: " + shot);

  // The server going away is shown, not hidden.
  server.kill("SIGTERM");
  await new Promise(r => setTimeout(r, 800));
  const gone = await read();
  check(gone.status.startsWith("not reachable"), `a stopped server shows (${gone.status})`);
} catch (e) {
  console.log("FAIL " + e.message);
  ++failures;
} finally {
  if (browser) await browser.close();
  server.kill("SIGKILL");
}
console.log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);

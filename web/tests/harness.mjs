// Test harness: a private PostgreSQL cluster (scripts/pg under a temporary PACTUM_HOME, on a free
// port), the real pactumd on a free loopback port serving web/dist, and headless Chromium
// (Debian's /usr/bin/chromium) driven by playwright-core. Everything is removed at the end.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, mkdirSync, openSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const webDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repo = resolve(webDir, "..");

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Harness {
  constructor() {
    this.home = mkdtempSync(join(tmpdir(), "pactum-browser-"));
    this.cleanups = [];
  }

  log(...a) {
    console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
  }

  async startDatabase() {
    this.pgPort = await freePort();
    this.pgEnv = { ...process.env, PACTUM_HOME: this.home, PACTUM_PG_PORT: String(this.pgPort) };
    const pg = join(repo, "scripts", "pg");
    this.cleanups.push(() => execFileSync(pg, ["destroy"], { env: this.pgEnv, stdio: "inherit" }));
    execFileSync(pg, ["start"], { env: this.pgEnv, stdio: ["ignore", "inherit", "inherit"] });
    this.databaseUrl = execFileSync(pg, ["url"], { env: this.pgEnv }).toString().trim();
    this.log(`PostgreSQL on 127.0.0.1:${this.pgPort}`);
  }

  async startServer() {
    const bin = (this.bin = process.env.PACTUMD_BIN || join(repo, "build", "release", "app", "pactumd"));
    if (!existsSync(bin)) throw new Error(`no pactumd at ${bin} (set PACTUMD_BIN)`);
    const dist = join(webDir, "dist");
    if (!existsSync(join(dist, "index.html"))) throw new Error(`no ${dist}/index.html: run npm run build in web/`);
    const keyFile = join(this.home, "master.key");
    writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
    const portFile = join(this.home, "port");
    this.serverLog = join(this.home, "pactumd.log");
    const out = openSync(this.serverLog, "a");
    const args = [
      "--listen", `127.0.0.1:${this.port ?? 0}`, "--port-file", portFile, "--database-url", this.databaseUrl,
      "--master-key-file", keyFile, "--web-root", dist,
      // cheap hashing and no per-user rate limits, as the C++ end-to-end tests run it
      "--pwhash-opslimit", "1", "--pwhash-memlimit-kib", "8192", "--log-level", "info",
      "--message-rate-per-s", "100000", "--message-burst", "100000", "--ws-frame-rate-per-s", "0",
      // a payout may be withdrawn at once (the default keeps it 2 days)
      "--settlement-window-s", "0",
    ];
    rmSync(portFile, { force: true });
    this.proc = spawn(bin, args, { stdio: ["ignore", out, out] });
    const proc = this.proc;
    this.cleanups.push(() => this.stopServer(proc));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (existsSync(portFile)) {
        this.port = Number(readFileSync(portFile, "utf8").trim());
        if (this.port > 0) break;
      }
      if (proc.exitCode !== null) throw new Error(`pactumd exited during start-up:\n${this.serverLogText()}`);
      await sleep(50);
    }
    if (!this.port) throw new Error("pactumd did not start within 60 s");
    this.url = `http://127.0.0.1:${this.port}`;
    this.log(`pactumd at ${this.url}`);
  }

  /** The operator action `pactumd --set-kyc EMAIL=STATUS` (another process, same database). */
  setKyc(email, status) {
    execFileSync(this.bin, ["--database-url", this.databaseUrl, "--set-kyc", `${email}=${status}`], { stdio: "ignore" });
  }

  /** `pactumd --ledger-check`: true when every ledger invariant holds. */
  ledgerCheck() {
    try {
      execFileSync(this.bin, ["--database-url", this.databaseUrl, "--ledger-check"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  }

  async stopServer(proc = this.proc) {
    if (!proc || proc.exitCode !== null) return;
    proc.kill("SIGTERM");
    const deadline = Date.now() + 20_000;
    while (proc.exitCode === null && Date.now() < deadline) await sleep(50);
    if (proc.exitCode === null) proc.kill("SIGKILL");
  }

  serverLogText() {
    try {
      return readFileSync(this.serverLog, "utf8").split("\n").slice(-60).join("\n");
    } catch {
      return "";
    }
  }

  async launchBrowser() {
    const { chromium } = await import("playwright-core");
    const executablePath = process.env.PACTUM_CHROMIUM || "/usr/bin/chromium";
    this.browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
    this.cleanups.push(() => this.browser.close());
    return this.browser;
  }

  screenshotDir() {
    const dir = join(webDir, "screenshots");
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  async cleanup() {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error("cleanup:", e.message);
      }
    }
    rmSync(this.home, { recursive: true, force: true });
  }
}

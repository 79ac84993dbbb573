// The whole deal in two browsers: a brand and a creator sign up; the brand builds and publishes a
// campaign, the creator finds it in the marketplace and applies, the brand approves and both land in
// the conversation it opens; they chat
// (masked contact details, typing, read receipts, a dropped connection resumed), offer, counter,
// accept, fund with the sandbox test card, deliver, request a revision, deliver again, approve;
// the creator's balance shows the payout, and a withdrawal is paid once their identity is
// verified; a freshly loaded chat pages older history in. Each side sees the other's actions
// live, without a reload. Screenshots of the main screens go to web/screenshots/.
//
//   node tests/deal.test.mjs        (PACTUMD_BIN: the pactumd to test; web/dist must be built)

import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { connect } from "node:net";
import { request as httpRequest } from "node:http";
import { Harness } from "./harness.mjs";

const T = 15_000;
const h = new Harness();
let passed = 0;
const steps = [];

async function step(name, fn) {
  const t0 = Date.now();
  await fn();
  passed++;
  steps.push(name);
  h.log(`ok ${passed} - ${name} (${Date.now() - t0} ms)`);
}

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

/** Waits until `locator` shows text containing `text`. */
async function seeText(locator, text, timeout = T) {
  const deadline = Date.now() + timeout;
  let last = "";
  while (Date.now() < deadline) {
    last = (await locator.first().textContent({ timeout: 1000 }).catch(() => "")) ?? "";
    if (last.includes(text)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected "${text}", saw "${last.slice(0, 200)}"`);
}

/** Every form control on the page has a label (accessibility). */
async function allLabelled(page, where) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => el.type !== "hidden" && !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert(unlabelled.length === 0, `unlabelled controls on ${where}: ${unlabelled.join(", ")}`);
}

/** On a 360-px-wide phone the page has no horizontal scrolling; writes a screenshot. */
async function fitsPhone(page, where, name, show) {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForTimeout(150);
  if (show) await show.scrollIntoViewIfNeeded();
  const wide = await page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    return document.documentElement.scrollWidth > w
      ? [...document.querySelectorAll("body *")].filter((el) => el.getBoundingClientRect().right > w + 1).slice(-3).map((el) => el.outerHTML.slice(0, 100))
      : [];
  });
  if (name) await page.screenshot({ path: join(h.screenshotDir(), `${name}.png`) });
  await page.setViewportSize(before);
  assert(wide.length === 0, `${where} is wider than a 360-px phone: ${wide.join(" | ")}`);
}

/** Tab from the top reaches the skip link first, and the focused control shows a focus ring. */
async function keyboardStart(page, where) {
  await page.evaluate(() => {
    // start sequential focus navigation at the top of the document
    document.body.tabIndex = -1;
    document.body.focus();
    document.body.removeAttribute("tabindex");
    window.scrollTo(0, 0);
  });
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement?.textContent ?? "");
  assert(first.includes("Skip to content"), `${where}: the first Tab stop is the skip link, got "${first}"`);
  await page.keyboard.press("Tab");
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert(ring !== "none", `${where}: the focused control shows a focus ring`);
}

const see = (page, text) => page.getByText(text, { exact: false }).first().waitFor({ timeout: T });

/** A raw HTTP/1.1 GET (Node's fetch would normalise "..") → status code. */
function rawGet(port, target) {
  return new Promise((ok, fail) => {
    const s = connect(port, "127.0.0.1", () => s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let data = "";
    s.on("data", (d) => (data += d));
    s.on("end", () => ok(Number(data.split(" ")[1])));
    s.on("error", fail);
  });
}


/** The unread count the bell announces (its live region), or null before it is known. */
async function unreadCount(page) {
  const t = (await page.getByTestId("unread-status").textContent({ timeout: 1000 }).catch(() => "")) ?? "";
  const m = t.match(/(\d+) unread/);
  return m ? Number(m[1]) : null;
}

/** Waits until the bell's count satisfies `ok`; returns it. */
async function waitCount(page, ok, what, timeout = T) {
  const deadline = Date.now() + timeout;
  let last = null;
  while (Date.now() < deadline) {
    last = await unreadCount(page);
    if (last !== null && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`unread count: expected ${what}, saw ${last}`);
}

/** Waits until the chart of `series` totals `want` (its data-total, what its bars add up to). */
async function chartTotal(page, series, want) {
  const chart = page.getByTestId(`chart-${series}`);
  const deadline = Date.now() + T;
  let last = null;
  while (Date.now() < deadline) {
    last = await chart.getAttribute("data-total", { timeout: 1000 }).catch(() => null);
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the ${series} chart: expected a total of ${want}, saw ${last}`);
}

const tokenOf = (page) => page.evaluate(() => JSON.parse(sessionStorage.getItem("pactum.session")).token);

/** What a shopper's browser does with an affiliate link: GET /r/{code} from `from` (a loopback address). */
function shopperClick(port, code, from, userAgent) {
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: `/r/${code}`, localAddress: from,
      headers: { "User-Agent": userAgent, Accept: "text/html" } }, (res) => {
      res.resume();
      res.on("end", () => ok({ status: res.statusCode, location: res.headers.location ?? "" }));
    });
    req.on("error", fail);
    req.end();
  });
}
const CHROME_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

const run = Date.now().toString(36);
const brandUser = { email: `ana-${run}@acme.example`, password: "correct horse battery", name: "Acme Bikes" };
const creatorUser = { email: `cleo-${run}@creator.example`, password: "pedal power 2026!", name: "Cleo Rides" };

async function main() {
  await h.startDatabase();
  await h.startServer();
  const shots = h.screenshotDir();
  const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`) });

  await step("the server serves the client with cache headers, SPA fallback and no traversal", async () => {
    const index = await fetch(h.url + "/");
    assert(index.status === 200, "GET / is 200");
    assert((index.headers.get("content-type") ?? "").startsWith("text/html"), "index is html");
    assert(index.headers.get("cache-control") === "no-cache", "index.html is no-cache");
    const html = await index.text();
    const asset = html.match(/\/assets\/[^"]+\.js/)?.[0];
    assert(asset, "index.html references a hashed script");
    const js = await fetch(h.url + asset);
    assert(js.status === 200 && (js.headers.get("content-type") ?? "").startsWith("text/javascript"), "script served as JavaScript");
    assert((js.headers.get("cache-control") ?? "").includes("immutable"), "hashed assets are immutable");
    const route = await fetch(h.url + "/contracts/anything");
    assert(route.status === 200 && (await route.text()) === html, "client routes get index.html");
    assert((await fetch(h.url + "/assets/missing-123.js")).status === 404, "a missing asset is 404");
    assert((await fetch(h.url + "/api/v1/nothing")).status === 404, "API paths are not the client's");
    assert((await rawGet(h.port, "/../../../etc/passwd")) === 400, "traversal refused");
    assert((await rawGet(h.port, "/%2e%2e/%2e%2e/etc/passwd")) === 400, "encoded traversal refused");
  });

  const browser = await h.launchBrowser();
  const viewport = { width: 1280, height: 820 };
  const brandCtx = await browser.newContext({ viewport, locale: "en-US", timezoneId: "UTC" });
  const creatorCtx = await browser.newContext({ viewport, locale: "en-US", timezoneId: "UTC" });
  const brand = await brandCtx.newPage();
  const creator = await creatorCtx.newPage();
  pages = { brand, creator };
  for (const [who, p] of [["brand", brand], ["creator", creator]]) {
    p.on("pageerror", (e) => h.log(`${who} page error: ${e.message}`));
    p.on("console", (m) => m.type() === "error" && h.log(`${who} console: ${m.text()}`));
  }

  await step("brand signs up in three steps with inline and server-side field errors", async () => {
    await brand.goto(h.url + "/");
    await shot(brand, "welcome");
    await brand.getByRole("link", { name: "I am a brand" }).click();
    await brand.getByRole("button", { name: "Create account" }).click();
    await see(brand, "must be an email address like name@example.com");
    await see(brand, "at least 10 characters");
    await brand.getByLabel("Password").fill("aaaaaaaaaaaa");
    await see(brand, "must not be one character repeated");
    await shot(brand, "signup-validation");
    await brand.getByLabel("Your name or your brand's").fill(brandUser.name);
    await brand.getByLabel("Email").fill(brandUser.email);
    await brand.getByLabel("Password").fill(brandUser.password);
    await brand.getByRole("button", { name: "Create account" }).click();
    await see(brand, "Tell creators who you are.");
    await brand.getByLabel("Company name").fill("Acme Bikes GmbH");
    await brand.getByLabel("Industry").fill("Sporting goods");
    await brand.getByLabel("Website (optional)").fill("acme bikes dot com");
    await brand.getByLabel("Country").fill("DE");
    await brand.getByLabel("Contact name").fill("Ana Berg");
    await brand.getByLabel("Contact email").fill("deals@acme.example");
    await brand.getByRole("button", { name: "Finish" }).click();
    // the API's own error for `website`, shown next to that field
    await brand.locator(".field.has-error", { has: brand.getByLabel("Website (optional)") }).locator(".field-error").waitFor({ timeout: T });
    await shot(brand, "signup-profile");
    await fitsPhone(brand, "the sign-up's profile step");
    await allLabelled(brand, "the brand profile step");
    await brand.getByLabel("Website (optional)").fill("https://acme.example");
    await brand.getByRole("button", { name: "Finish" }).click();
    await brand.waitForURL(/\/chats$/, { timeout: T });
  });

  let creatorId = "";
  let convUrl = "";
  await step("creator signs up with a media kit and finds their Pactum ID", async () => {
    await creator.goto(h.url + "/signup?role=creator");
    await creator.getByLabel("Your creator name").fill(creatorUser.name);
    await creator.getByLabel("Email").fill(creatorUser.email);
    await creator.getByLabel("Password").fill(creatorUser.password);
    await creator.getByRole("button", { name: "Create account" }).click();
    await see(creator, "Your media kit");
    await creator.getByRole("button", { name: "+ Add a rate" }).click();
    await creator.getByLabel("Price").fill("450");
    await allLabelled(creator, "the creator profile step");
    await creator.getByLabel("Bio").fill("City cycling, every week. Berlin by bike.");
    await creator.getByLabel("travel", { exact: true }).check();
    await creator.getByLabel("sports", { exact: true }).check();
    await creator.getByLabel("Country").fill("DE");
    await creator.getByLabel("City (optional)").fill("Berlin");
    await creator.getByLabel("Languages").fill("en, de");
    await creator.getByRole("button", { name: "+ Add a social account" }).click();
    await creator.getByLabel("Handle").fill("@cleo.rides");
    await creator.getByLabel("Followers").fill("120000");
    await creator.getByRole("button", { name: "Finish" }).click();
    await creator.waitForURL(/\/chats$/, { timeout: T });
    await creator.getByRole("link", { name: "Profile & media kit" }).click();
    creatorId = ((await creator.getByTestId("my-id").textContent({ timeout: T })) ?? "").trim();
    assert(/^[0-9a-f-]{36}$/.test(creatorId), `a Pactum ID, got ${creatorId}`);
    await see(creator, "@cleo.rides");
    await shot(creator, "profile-creator");
    await fitsPhone(creator, "the media kit");
    await creator.getByRole("link", { name: "Conversations" }).click();
    await seeText(creator.getByTestId("connection"), "Live");
  });

  const campaignTitle = "Summer rides launch";
  let campaignUrl = "";
  await step("brand builds a campaign in the wizard (the API's field errors next to their fields) and publishes it", async () => {
    await brand.getByRole("link", { name: "Campaigns" }).click();
    await see(brand, "No campaigns yet");
    await brand.getByRole("link", { name: "New campaign" }).click();
    await brand.getByLabel("Title", { exact: true }).fill(campaignTitle);
    await brand.getByLabel("Description").fill("Our new folding city e-bike, out in June.");
    await brand.getByLabel("awareness", { exact: true }).check();
    await brand.getByLabel("Brief for creators").fill("Ride it through your city and show how it folds away.");
    await brand.getByRole("button", { name: "Next" }).click();
    await brand.getByLabel("Pricing model").selectOption("per_post");
    await brand.getByLabel("Rate", { exact: true }).fill("500");
    await brand.getByLabel("Currency", { exact: true }).fill("USD");
    await brand.getByLabel("Total budget").fill("5000");
    await brand.getByRole("button", { name: "Next" }).click();
    await brand.getByLabel("travel", { exact: true }).check();
    await brand.getByLabel("Countries").fill("Germany, AT");
    await brand.getByLabel("18-24", { exact: true }).check();
    await brand.getByLabel("Minimum followers").fill("1000");
    await brand.getByRole("button", { name: "Next" }).click();
    await brand.getByLabel("Ends").fill(new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
    await brand.getByRole("button", { name: "Next" }).click();
    await brand.getByLabel("Banned words").fill("cheap");
    await brand.getByLabel("Banned categories").fill("gambling");
    await allLabelled(brand, "the campaign wizard");
    await fitsPhone(brand, "the campaign wizard");
    await brand.getByRole("button", { name: "Save and publish" }).click();
    // the server refuses "Germany" (ISO codes only): the wizard goes back to that step, error at the field
    await brand.locator(".field.has-error", { has: brand.getByLabel("Countries") }).locator(".field-error").waitFor({ timeout: T });
    await shot(brand, "campaign-wizard-errors");
    await brand.getByLabel("Countries").fill("DE, AT");
    // the draft's matches, before anything is saved
    await brand.getByRole("button", { name: "Preview matching creators" }).click();
    await seeText(brand.getByTestId("match-preview"), creatorUser.name);
    await seeText(brand.getByTestId("match-preview"), "target niches");
    await brand.getByRole("button", { name: "Next" }).click();
    await brand.getByRole("button", { name: "Next" }).click();
    await brand.getByRole("button", { name: "Save and publish" }).click();
    await brand.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/, { timeout: T });
    campaignUrl = brand.url();
    await seeText(brand.getByTestId("campaign-status"), "Published");
    await seeText(brand.getByTestId("budget-remaining"), "$5,000.00");
    await see(brand, "No applications yet");
  });

  await step("brand finds the creator with the discovery filters and sees the campaign's ranked matches with their reasons", async () => {
    // 21 more creators (through the API), so the search has more than one page of 20
    const extra = 21;
    await Promise.all(Array.from({ length: extra }, async (_, i) => {
      const email = `chef-${i}-${run}@creator.example`, password = "street food 2026!";
      const post = (path, body, token) => fetch(h.url + path, {
        method: path.endsWith("profile") ? "PUT" : "POST",
        headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      const reg = await post("/api/v1/users/register", { email, password, display_name: `Chef ${i + 1}`, role: "creator", consents: { terms: "2026-01" } });
      assert(reg.status === 201 || reg.status === 200, `registered, got ${reg.status}`);
      const { token } = await (await post("/api/v1/users/login", { email, password })).json();
      const prof = await post("/api/v1/influencers/profile", {
        bio: "Street food, every week.", niches: ["food"], location: { country: "FR" }, languages: ["fr"],
        social_accounts: [{ platform: "instagram", handle: `@chef${i}`, followers: 1000 + i, average_views: 300, engagement_rate: 4 }],
      }, token);
      assert(prof.status === 200, `profile saved, got ${prof.status}: ${await prof.text()}`);
    }));
    await brand.getByRole("link", { name: "Find creators" }).click();
    const results = brand.locator('section[aria-label="Creators found"]');
    await seeText(results, creatorUser.name); // no filters: every creator, most followers first
    // cursor paging: 20, then the rest (the filter groups fold away until opened)
    await brand.locator("summary", { hasText: "Niches" }).click();
    await brand.getByLabel("food", { exact: true }).check();
    await brand.getByRole("button", { name: "Search", exact: true }).click();
    await brand.getByRole("button", { name: "Show more" }).waitFor({ timeout: T });
    assert((await results.getByTestId("creator").count()) === 20, "a first page of 20");
    await brand.getByRole("button", { name: "Show more" }).click();
    await see(brand, "21 creators shown");
    const names = await results.getByTestId("creator").locator("h3").allTextContents();
    assert(names.length === extra && new Set(names).size === extra, `every match once: ${names.join(", ")}`);
    assert((await brand.getByRole("button", { name: "Show more" }).count()) === 0, "no more pages");
    // invite straight from a result
    const chef = results.getByTestId("creator").filter({ has: brand.getByRole("link", { name: "Chef 1", exact: true }) });
    await chef.getByRole("button", { name: /^Invite/ }).click();
    await chef.getByLabel("Personal note (optional)").fill("A street-food ride through Berlin?");
    await chef.getByRole("button", { name: "Send invitation" }).click();
    await seeText(chef, "Invitation sent to Chef 1.");
    await brand.getByLabel("food", { exact: true }).uncheck();
    await brand.getByLabel("Words in the bio").fill("cycling berlin");
    await brand.getByLabel("travel", { exact: true }).check();
    await brand.getByLabel("Platform").selectOption("tiktok");
    await brand.getByLabel("Followers from").fill("100000");
    await brand.locator("summary", { hasText: "Where the creator lives" }).click();
    await brand.getByLabel("Country", { exact: true }).fill("de");
    await brand.getByLabel("Languages (any of)").fill("de");
    await brand.getByRole("button", { name: "Search", exact: true }).click();
    await seeText(results.getByTestId("creator"), creatorUser.name);
    await seeText(results.getByTestId("creator"), "120,000 followers");
    await allLabelled(brand, "creator discovery");
    await brand.evaluate(() => { window.scrollTo(0, 0); document.querySelector(".filters-form").scrollTop = 0; });
    await shot(brand, "discover-search");
    await brand.getByLabel("Followers from").fill("200000");
    await brand.getByRole("button", { name: "Search", exact: true }).click();
    await see(brand, "No creators match these filters.");
    // a range the server refuses: its field error next to the field
    await brand.getByLabel("Followers up to").fill("1000");
    await brand.getByRole("button", { name: "Search", exact: true }).click();
    await brand.locator(".filters-form .field.has-error .field-error").first().waitFor({ timeout: T });
    await see(brand, "Some filters are not valid");
    await brand.getByLabel("Followers up to").fill("");
    await brand.getByLabel("Followers from").fill("100000");
    await brand.locator("summary", { hasText: "Rates" }).click();
    await brand.getByLabel("Rate currency").fill("USD");
    await brand.getByLabel("Rate from").fill("400");
    await brand.getByLabel("Rate up to").fill("500");
    await brand.getByRole("button", { name: "Search", exact: true }).click();
    await seeText(results.getByTestId("creator"), "rate $450.00");
    await keyboardStart(brand, "creator discovery");
    await fitsPhone(brand, "creator discovery", "discover-phone");
    await brand.getByRole("tab", { name: "Matches for a campaign" }).click();
    await brand.getByLabel("Campaign", { exact: true }).selectOption({ label: `${campaignTitle} (published)` });
    const match = brand.locator('section[aria-label="Matches"]').getByTestId("creator").first();
    await seeText(match, creatorUser.name);
    await seeText(match.getByTestId("match-reasons"), "Niche");
    await seeText(match.getByTestId("match-reasons"), "weight 30%");
    await seeText(match.getByTestId("match-reasons"), "target niches");
    await seeText(match.getByTestId("match-score"), "% match");
    await shot(brand, "discover-matches");
    await fitsPhone(brand, "the matches", "discover-matches-phone");
    await brand.goto(campaignUrl); // back to the campaign, to watch applications arrive
    await see(brand, "No applications yet");
  });

  await step("creator finds the campaign in the marketplace (fit and filters) and applies; the brand's inbox shows it live", async () => {
    await creator.getByRole("link", { name: "Campaigns" }).click();
    await see(creator, campaignTitle); // "For you": it fits the media kit (travel, DE, 120,000 followers)
    // ranked: each campaign shows why it fits, factor by factor
    await seeText(creator.getByTestId("match-reasons"), "Niche");
    await seeText(creator.getByTestId("match-reasons"), "weight 30%");
    await shot(creator, "campaign-for-you");
    await fitsPhone(creator, "For you", "campaign-for-you-phone");
    // tabs by keyboard: the arrow key moves to the next tab and selects it
    await creator.getByRole("tab", { name: "For you" }).focus();
    await creator.keyboard.press("ArrowRight");
    await creator.getByRole("tab", { name: "All campaigns", selected: true }).waitFor({ timeout: T });
    await creator.getByLabel("Niche").selectOption("gaming");
    await creator.getByRole("button", { name: "Search" }).click();
    await see(creator, "No campaigns match right now.");
    await creator.getByLabel("Words in the title").fill("summer");
    await creator.getByLabel("Niche").selectOption("travel");
    await creator.getByLabel("Country").fill("DE");
    await creator.getByRole("button", { name: "Search" }).click();
    await allLabelled(creator, "the marketplace filters");
    await fitsPhone(creator, "the marketplace filters");
    await creator.getByRole("link", { name: campaignTitle }).waitFor({ timeout: T });
    await shot(creator, "campaign-marketplace");
    await creator.getByRole("link", { name: campaignTitle }).click();
    await creator.waitForURL(campaignUrl, { timeout: T });
    await creator.getByLabel("Your proposal").fill("Berlin by bike every week: a 30 second ride along the Spree, folding it into the U-Bahn.");
    await creator.getByLabel(/Your price/).fill("600");
    await creator.getByRole("button", { name: "Send application" }).click();
    await seeText(creator.getByTestId("application-status"), "Waiting for a decision");
    await shot(creator, "campaign-creator");
    await creator.setViewportSize({ width: 390, height: 844 });
    await shot(creator, "campaign-creator-phone");
    await creator.setViewportSize(viewport);
    await seeText(brand.getByTestId("application"), "folding it into the U-Bahn");
    await seeText(brand.getByTestId("application"), "$600.00");
  });

  await step("brand approves; the creator sees it live and both land in the opened conversation", async () => {
    await brand.getByTestId("application").getByRole("button", { name: "Approve" }).click();
    await seeText(creator.getByTestId("application-status"), "Approved");
    await seeText(brand.getByTestId("application"), "Approved");
    await brand.getByRole("button", { name: "Pause" }).click();
    await seeText(brand.getByTestId("campaign-status"), "Paused");
    await brand.getByRole("button", { name: "Resume" }).click();
    await seeText(brand.getByTestId("campaign-status"), "Published");
    await shot(brand, "campaign-brand");
    await fitsPhone(brand, "the brand's campaign");
    await keyboardStart(brand, "the brand's campaign");
    await brand.getByTestId("application").getByRole("link", { name: "Open the conversation" }).click();
    await brand.waitForURL(/\/chats\/[0-9a-f-]{36}$/, { timeout: T });
    await creator.getByRole("link", { name: "Open the conversation" }).click();
    await creator.waitForURL(brand.url(), { timeout: T });
    convUrl = brand.url();
  });

  await step("chat: masked contact details, typing, read receipts", async () => {
    await brand.getByLabel("Message", { exact: true }).fill("Hi Cleo! Mail me at ana.berg@gmail.com to talk.");
    await brand.getByLabel("Message", { exact: true }).press("Enter");
    await see(creator, "Hi Cleo! Mail me at");
    await creator.locator("mark.masked").first().waitFor({ timeout: T });
    assert(!(await creator.content()).includes("ana.berg@gmail.com"), "the e-mail address is not shown");
    await creator.getByLabel("Message", { exact: true }).pressSequentially("Sounds great", { delay: 20 });
    await see(brand, "Cleo Rides is typing…");
    await creator.getByLabel("Message", { exact: true }).pressSequentially(", what do you have in mind?");
    await creator.getByLabel("Message", { exact: true }).press("Enter");
    await see(brand, "Sounds great, what do you have in mind?");
    await seeText(brand.getByTestId("receipt").last(), "Read");
    await see(brand, "online");
    await fitsPhone(creator, "the chat");
  });

  await step("a dropped connection shows it and resumes without missing a message", async () => {
    await creatorCtx.setOffline(true);
    await seeText(creator.getByTestId("connection"), "Offline");
    await shot(creator, "connection-offline");
    await brand.getByLabel("Message", { exact: true }).fill("Are you still there? Sent while you were offline.");
    await brand.getByLabel("Message", { exact: true }).press("Enter");
    await see(brand, "Sent while you were offline.");
    await new Promise((r) => setTimeout(r, 500));
    assert((await creator.getByText("Sent while you were offline.").count()) === 0, "not delivered while offline");
    await creatorCtx.setOffline(false);
    await seeText(creator.getByTestId("connection"), "Live");
    await see(creator, "Sent while you were offline.");
  });

  let secondUrl = "";
  const brandOffers = brand.locator('aside[aria-label="Offers"]');
  const creatorOffers = creator.locator('aside[aria-label="Offers"]');
  await step("offer, counter-offer and accept, live on both sides", async () => {
    await brandOffers.getByRole("button", { name: "Make an offer" }).click();
    await brandOffers.getByLabel("Price").fill("500");
    await brandOffers.getByLabel("Deliverable").selectOption("tiktok_native_ad");
    await brandOffers.getByLabel("Brief (optional)").fill("A 30 second ride through Berlin with our new e-bike.");
    await brandOffers.getByLabel("Revision rounds").fill("2");
    await allLabelled(brand, "the chat with the offer form");
    await brandOffers.getByRole("button", { name: "Send offer" }).click();
    await seeText(creatorOffers, "$500.00");
    await shot(brand, "chat-brand");
    await creatorOffers.getByRole("button", { name: "Counter" }).click();
    await creatorOffers.getByLabel("Price").fill("650");
    await creatorOffers.getByRole("button", { name: "Send counter-offer" }).click();
    await seeText(brandOffers, "$650.00");
    await seeText(brandOffers, "Countered");
    await shot(creator, "offer-counter");
    await brandOffers.getByRole("button", { name: "Accept" }).click();
    await seeText(creatorOffers, "Accepted");
    await creator.getByRole("link", { name: "View contract" }).waitFor({ timeout: T });
    await creator.setViewportSize({ width: 390, height: 844 });
    await shot(creator, "chat-creator-phone");
    await creator.setViewportSize(viewport);
  });

  await step("brand funds with the sandbox card; the creator sees it funded live", async () => {
    await brand.getByRole("link", { name: "View contract" }).click();
    await creator.getByRole("link", { name: "View contract" }).click();
    await seeText(brand.getByTestId("contract-status"), "Awaiting funding");
    await see(creator, "Waiting for the brand to fund");
    await allLabelled(brand, "the contract page");
    await brand.getByLabel("Card number").fill("4242 4242 4242 4242");
    await brand.getByRole("button", { name: /^Fund / }).click();
    await seeText(brand.getByTestId("contract-status"), "Funded");
    await seeText(creator.getByTestId("contract-status"), "Funded");
    await see(creator, "Delivery due");
    await shot(creator, "contract-funded");
    await fitsPhone(creator, "the contract");
    await keyboardStart(creator, "the contract");
  });

  await step("deliver, request a revision, deliver again", async () => {
    await creator.getByLabel("Link to the content").fill("https://video.example/cleo/acme-1");
    await creator.getByLabel("Note for the brand (optional)").fill("First cut, filmed at Tempelhof.");
    await creator.getByRole("button", { name: "Deliver" }).click();
    await seeText(brand.getByTestId("contract-status"), "Delivered");
    await see(brand, "https://video.example/cleo/acme-1");
    await see(brand, "Review due");
    await shot(brand, "contract-review");
    await brand.getByRole("button", { name: "Request a revision" }).click();
    await brand.getByLabel("What should change?").fill("Please show the logo in the first three seconds.");
    await brand.getByRole("button", { name: "Send revision request" }).click();
    await seeText(creator.getByTestId("contract-status"), "Revision requested");
    await see(creator, "Please show the logo in the first three seconds.");
    await creator.getByLabel("Link to the content").fill("https://video.example/cleo/acme-2");
    await creator.getByRole("button", { name: "Deliver the revision" }).click();
    await seeText(brand.getByTestId("contract-status"), "Delivered");
    await see(brand, "https://video.example/cleo/acme-2");
  });

  await step("brand approves; the creator's open balance page shows the payout live", async () => {
    await creator.getByRole("link", { name: "Balance" }).click();
    await see(creator, "Nothing earned yet");
    await brand.getByRole("button", { name: "Approve and pay" }).click();
    await seeText(brand.getByTestId("contract-status"), "Paid out");
    // 650.00 less the default 10 % commission
    await seeText(creator.getByTestId("balance-USD"), "$585.00");
    await brand.reload(); // a deep link loads the client (SPA fallback) and the session survives
    await seeText(brand.getByTestId("contract-status"), "Paid out");
    await see(brand, "Approved and paid out");
    await shot(brand, "contract-paid");
  });

  await step("withdrawals: refused until the identity is verified, then paid out", async () => {
    await creator.getByLabel("Amount").fill("100");
    await creator.getByLabel("Payout account").fill("acct_cleo_rides");
    await creator.getByRole("button", { name: "Withdraw", exact: true }).click();
    await see(creator, "Withdrawals need a verified identity");
    h.setKyc(creatorUser.email, "verified");
    await creator.getByRole("button", { name: "Withdraw", exact: true }).click();
    await see(creator, "Withdrawal requested");
    await seeText(creator.getByTestId("balance-USD"), "$485.00");
    await seeText(creator.locator('section[aria-label="Withdrawals"]'), "paid");
    await shot(creator, "balance");
    await fitsPhone(creator, "the balance");
    assert(h.ledgerCheck(), "pactumd --ledger-check finds the ledger consistent");
  });

  await step("history scroll-back: a freshly loaded chat pages older messages in", async () => {
    await brand.goto(convUrl);
    const box = brand.getByLabel("Message", { exact: true });
    for (let i = 1; i <= 55; i++) {
      await box.fill(`Note ${i} of 55`);
      await box.press("Enter");
    }
    await see(brand, "Note 55 of 55");
    await creator.goto(convUrl); // a deep link: a fresh client reads only the newest page
    await see(creator, "Note 55 of 55");
    assert((await creator.getByText("Hi Cleo! Mail me at").count()) === 0, "older messages are not loaded yet");
    await creator.getByRole("button", { name: "Load earlier messages" }).waitFor({ timeout: T });
    // scrolling up to the top pages older items in (the button does the same from the keyboard)
    for (let i = 0; i < 20 && (await creator.getByText("Hi Cleo! Mail me at").count()) === 0; i++) {
      await creator.getByRole("log").evaluate((el) => el.scrollTo(0, 0));
      await new Promise((r) => setTimeout(r, 250));
    }
    await see(creator, "Hi Cleo! Mail me at");
  });

  await step("brand invites the creator to another campaign; the invitation appears live and accepting opens their conversation", async () => {
    // the second campaign is made through the API (the wizard was tested above)
    const token = await brand.evaluate(() => JSON.parse(sessionStorage.getItem("pactum.session")).token);
    const auth = { "Content-Type": "application/json", Authorization: `Bearer ${token}` };
    const made = await fetch(h.url + "/api/v1/brands/campaigns", {
      method: "POST", headers: auth,
      body: JSON.stringify({ key: `second-${run}`, title: "Autumn commute", budget: 200000, currency: "USD",
        deliverables: [{ type: "instagram_reel", count: 1 }], pricing: { model: "flat", rate: 0 },
        brand_safety: { banned_words: ["cheap"], require_disclosure: true } }),
    });
    assert(made.status === 201, `campaign created, got ${made.status}`);
    const second = (await made.json()).campaign.id;
    secondUrl = h.url + `/campaigns/${second}`;
    const pub = await fetch(h.url + `/api/v1/brands/campaigns/${second}/status`, { method: "POST", headers: auth, body: JSON.stringify({ to: "publish", key: `pub-${run}` }) });
    assert(pub.status === 200, `published, got ${pub.status}`);
    await creator.goto(h.url + "/campaigns");
    await creator.getByRole("tab", { name: "Invitations" }).click();
    await see(creator, "No invitations yet");
    await brand.goto(h.url + `/campaigns/${second}`);
    await brand.getByLabel("Creator's Pactum ID").fill(creatorId);
    await brand.getByLabel("Personal note (optional)").fill("Loved your Berlin ride: one reel for the autumn range?");
    await brand.getByRole("button", { name: "Send invitation" }).click();
    await see(brand, "Invitation sent.");
    await see(creator, "Loved your Berlin ride");
    await see(creator, "Autumn commute");
    await shot(creator, "campaign-invitations");
    await creator.getByRole("button", { name: "Accept invitation" }).click();
    await creator.waitForURL(convUrl, { timeout: T }); // a pair has one conversation: the deal's
  });

  await step("a second deal in the conversation is funded and counts for the invited campaign", async () => {
    await brand.goto(convUrl);
    await seeText(brand.getByTestId("connection"), "Live");
    await brandOffers.getByRole("button", { name: "Make another offer" }).click();
    await brandOffers.getByLabel("Price").fill("300");
    await brandOffers.getByLabel("Deliverable").selectOption("instagram_reel");
    await brandOffers.getByLabel("Brief (optional)").fill("One autumn commute reel.");
    await brandOffers.getByLabel("Revision rounds").fill("1");
    await brandOffers.getByRole("button", { name: "Send offer" }).click();
    await seeText(creatorOffers, "$300.00");
    await creatorOffers.getByRole("button", { name: "Accept" }).click();
    await brand.getByRole("link", { name: "View contract" }).nth(1).waitFor({ timeout: T });
    await brand.getByRole("link", { name: "View contract" }).nth(1).click();
    await seeText(brand.getByTestId("contract-status"), "Awaiting funding");
    await brand.getByLabel("Card number").fill("4242 4242 4242 4242");
    await brand.getByRole("button", { name: /^Fund / }).click();
    await seeText(brand.getByTestId("contract-status"), "Funded");
  });

  await step("campaign content: submit, screening report, revision with a note, resubmit, approve — live on both sides", async () => {
    await brand.goto(secondUrl);
    await creator.goto(secondUrl);
    const bc = brand.getByTestId("campaign-content");
    const cc = creator.getByTestId("campaign-content");
    await seeText(bc.getByTestId("deliverable"), "Not submitted");
    await seeText(cc.getByTestId("revisions-left"), "Revision rounds left: 1 of 1");
    await seeText(cc.getByTestId("deliverable"), "instagram");
    await cc.getByLabel("Links to the content").fill("https://video.example/cleo/autumn-1");
    await cc.getByLabel("Caption").fill("My autumn commute on the folding bike");
    await allLabelled(creator, "the content form");
    await cc.getByRole("button", { name: "Submit content" }).click();
    await seeText(cc.getByTestId("screening"), "Screening found 1 issue"); // no #ad
    await seeText(cc.getByTestId("deliverable-status"), "In review");
    await shot(creator, "content-creator");
    // the brand's open page shows it without a reload, with the report
    await seeText(bc.getByTestId("screening"), "Screening found 1 issue");
    await seeText(bc.getByTestId("deliverable-status"), "In review");
    await allLabelled(brand, "the content review");
    await bc.getByLabel("Note for the creator").fill("Please add #ad to the caption.");
    await shot(brand, "content-review");
    // the creator is offline when the brand reviews: after the reconnect the page subscribes again
    // and reads what it missed
    await creatorCtx.setOffline(true);
    await seeText(creator.getByTestId("connection"), "Offline");
    await bc.getByRole("button", { name: "Request a revision" }).click();
    await seeText(bc.getByTestId("deliverable-status"), "Revision requested");
    await creatorCtx.setOffline(false);
    await seeText(creator.getByTestId("connection"), "Live");
    await seeText(cc.getByTestId("deliverable-status"), "Revision requested");
    await seeText(cc.getByTestId("review"), "Please add #ad to the caption.");
    await seeText(cc.getByTestId("revisions-left"), "Revision rounds left: 0 of 1");
    await cc.getByLabel("Links to the content").fill("https://video.example/cleo/autumn-2");
    await cc.getByLabel("Caption").fill("My autumn commute on the folding bike #ad");
    await cc.getByRole("button", { name: "Submit the revision" }).click();
    await seeText(bc.getByTestId("submission").nth(1), "Screening passed");
    await seeText(bc.getByTestId("deliverable-status"), "In review");
    assert(await bc.getByRole("button", { name: /Request a revision/ }).isDisabled(), "no revision round is left");
    await fitsPhone(brand, "the content review", "content-review-phone", bc.getByTestId("submission").nth(1));
    await bc.getByRole("button", { name: "Approve content" }).click();
    await seeText(cc.getByTestId("deliverable-status"), "Approved");
    await seeText(cc.getByTestId("submission").nth(1), "the contract is released");
    // the release pays the contract through the contract actor: the campaign reports it settled
    await seeText(cc.getByTestId("content-contract"), "Settled", 30_000);
    await seeText(bc.getByTestId("content-contract"), "Settled", 30_000);
    await shot(creator, "content-approved");
    await fitsPhone(creator, "the campaign with its content", "content-creator-phone", cc);
    assert(h.ledgerCheck(), "pactumd --ledger-check finds the ledger consistent after the release");
  });

  await step("notifications: a brand's actions raise the creator's unread count live, missed ones arrive after a reconnect, mark read lowers it", async () => {
    await brand.goto(convUrl);
    await seeText(brand.getByTestId("connection"), "Live");
    await creator.goto(secondUrl); // no conversation open: messages notify
    await seeText(creator.getByTestId("connection"), "Live");
    const n0 = await waitCount(creator, () => true, "a count");
    const creatorAuth = { Authorization: `Bearer ${await tokenOf(creator)}` };
    const rest = await (await fetch(h.url + "/api/v1/notifications/unread-count", { headers: creatorAuth })).json();
    assert(rest.unread === n0, `the bell shows the server's count (${rest.unread}), got ${n0}`);
    await creator.evaluate(() => { window.__sameDocument = true; });
    // start from nothing unread (a conversation has one unread message notification at most)
    await creator.getByTestId("bell").click();
    const panel = creator.getByTestId("notifications-panel");
    await panel.waitFor({ timeout: T });
    if (n0 > 0) {
      await panel.getByRole("button", { name: "Mark all read" }).click();
      await waitCount(creator, (n) => n === 0, "0 after marking all read");
    }
    assert((await creator.getByTestId("unread-badge").count()) === 0, "no badge when nothing is unread");
    await creator.keyboard.press("Escape");
    await panel.waitFor({ state: "detached", timeout: T });
    assert(await creator.evaluate(() => document.activeElement?.dataset.testid === "bell"), "Escape gives focus back to the bell");
    await brand.getByLabel("Message", { exact: true }).fill("Got a minute for the winter campaign?");
    await brand.getByLabel("Message", { exact: true }).press("Enter");
    await waitCount(creator, (n) => n === 1, "1 after the brand's message");
    await seeText(creator.getByTestId("unread-badge"), "1");
    assert((await creator.getByTestId("bell").getAttribute("aria-label")).includes("1 unread"), "the bell's label carries the count");
    // offline while the brand makes an offer: the notification is missed, and arrives on reconnect
    await creatorCtx.setOffline(true);
    await seeText(creator.getByTestId("connection"), "Offline");
    await brandOffers.getByRole("button", { name: "Make another offer" }).click();
    await brandOffers.getByLabel("Price").fill("450");
    await brandOffers.getByLabel("Deliverable").selectOption("instagram_story");
    await brandOffers.getByRole("button", { name: "Send offer" }).click();
    await seeText(brandOffers, "$450.00");
    await new Promise((r) => setTimeout(r, 300));
    assert((await unreadCount(creator)) === 1, "nothing arrives while offline");
    await creatorCtx.setOffline(false);
    await seeText(creator.getByTestId("connection"), "Live");
    await waitCount(creator, (n) => n === 2, "2 after the reconnect");
    await seeText(creator.getByTestId("unread-badge"), "2");
    assert(await creator.evaluate(() => window.__sameDocument === true), "no reload");
    // the panel by keyboard (the bell still has the focus)
    await creator.keyboard.press("Enter");
    await panel.waitFor({ timeout: T });
    await seeText(panel.getByTestId("notification").first(), "New offer");
    await seeText(panel.getByTestId("notification").nth(1), "New message");
    await allLabelled(creator, "the notifications panel");
    await shot(creator, "notifications-panel");
    await fitsPhone(creator, "the notifications panel", "notifications-phone");
    await panel.getByRole("button", { name: "Mark read: New message" }).click();
    await waitCount(creator, (n) => n === 1, "1 after marking one read");
    assert(!((await panel.getByTestId("notification").nth(1).textContent()) ?? "").includes("unread"), "the message notification shows read");
    await panel.getByRole("button", { name: "Mark all read" }).click();
    await waitCount(creator, (n) => n === 0, "0 after marking all read");
    assert((await creator.getByTestId("unread-badge").count()) === 0, "no badge when nothing is unread");
    const after = await (await fetch(h.url + "/api/v1/notifications/unread-count", { headers: creatorAuth })).json();
    assert(after.unread === 0, `the server agrees: ${after.unread}`);
    // mute messages: the next message raises nothing
    await panel.getByRole("button", { name: "Settings" }).click();
    await panel.getByLabel("Messages in conversations I am not viewing").uncheck();
    await panel.getByRole("button", { name: "Save preferences" }).click();
    await see(creator, "Preferences saved.");
    const prefs = await (await fetch(h.url + "/api/v1/notifications/preferences", { headers: creatorAuth })).json();
    assert(prefs.muted.includes("message.received"), `muted: ${JSON.stringify(prefs.muted)}`);
    await brand.getByLabel("Message", { exact: true }).fill("Muted on your side, I hear.");
    await brand.getByLabel("Message", { exact: true }).press("Enter");
    await see(brand, "Muted on your side, I hear.");
    await new Promise((r) => setTimeout(r, 1500));
    assert((await unreadCount(creator)) === 0, "a muted type raises nothing");
    await creator.keyboard.press("Escape");
  });

  await step("notifications the other way: the creator declines; the brand's count rises live and opening it leads to the chat", async () => {
    const b0 = await waitCount(brand, () => true, "a count");
    await creator.goto(convUrl);
    await creatorOffers.getByRole("button", { name: "Decline" }).click();
    await creatorOffers.getByRole("button", { name: "Decline offer" }).click();
    await waitCount(brand, (n) => n === b0 + 1, `${b0 + 1} after the decline`);
    await brand.getByTestId("bell").click();
    const panel = brand.getByTestId("notifications-panel");
    await seeText(panel.getByTestId("notification").first(), "Your offer was declined");
    await shot(brand, "notifications-brand");
    await panel.getByRole("link", { name: "Your offer was declined" }).click();
    await panel.waitFor({ state: "detached", timeout: T });
    await brand.waitForURL(convUrl, { timeout: T });
    await waitCount(brand, (n) => n === b0, `${b0} after opening it`);
  });

  await step("analytics: the brand adds a product and a creator's link; shoppers' clicks update the dashboard live", async () => {
    const sent = []; // the brand's WebSocket requests, to see the subscription end on leaving
    brand.on("websocket", (ws) => ws.on("framesent", (f) => { if (typeof f.payload === "string") sent.push(f.payload); }));
    await brand.goto(campaignUrl);
    await brand.getByRole("link", { name: "Analytics and affiliate links" }).click();
    await brand.waitForURL(campaignUrl + "/analytics", { timeout: T });
    await seeText(brand.getByTestId("analytics-live"), "Live");
    await seeText(brand.getByTestId("kpi-clicks"), "0");
    await brand.getByLabel("SKU").fill("FOLD-1");
    await brand.getByLabel("Product name").fill("Folding e-bike");
    await brand.getByLabel("Category").fill("bikes");
    await brand.getByLabel("Product URL").fill("https://shop.example/fold?color=red");
    await brand.getByLabel("Price").fill("1299");
    await brand.getByRole("button", { name: "Add product" }).click();
    await see(brand, "Product “Folding e-bike” added.");
    await brand.getByLabel("Creator", { exact: true }).selectOption({ label: creatorUser.name });
    await brand.getByRole("button", { name: "Create link" }).click();
    await see(brand, "Link created.");
    const code = await brand.getByTestId("affiliate-link").locator("code").first().getAttribute("data-code", { timeout: T });
    assert(/^[0-9A-Za-z]{12}$/.test(code ?? ""), `a link code, got ${code}`);
    await allLabelled(brand, "the analytics page");
    await brand.evaluate(() => { window.__sameDocument = true; });
    // two shoppers (two addresses) click; a bot and a repeat click are excluded with their reasons
    const a = await shopperClick(h.port, code, "127.0.0.2", CHROME_UA);
    assert(a.status === 302 && a.location.startsWith("https://shop.example/fold?color=red&utm_source=pactum"), `redirected: ${a.status} ${a.location}`);
    await seeText(brand.getByTestId("kpi-clicks"), "1");
    await chartTotal(brand, "clicks", "1");
    assert((await shopperClick(h.port, code, "127.0.0.3", FIREFOX_UA)).status === 302, "second shopper redirected");
    assert((await shopperClick(h.port, code, "127.0.0.4", "curl/8.4.0")).status === 302, "bot redirected");
    assert((await shopperClick(h.port, code, "127.0.0.2", CHROME_UA)).status === 302, "repeat redirected");
    await seeText(brand.getByTestId("kpi-invalid_clicks"), "2");
    await seeText(brand.getByTestId("kpi-clicks"), "2");
    await seeText(brand.getByTestId("kpi-unique_clicks"), "2");
    await chartTotal(brand, "clicks", "2");
    assert(((await brand.getByTestId("chart-clicks").getAttribute("aria-label")) ?? "").includes("total 2"), "the chart's text says so");
    await seeText(brand.getByTestId("creator-row"), creatorUser.name);
    assert(((await brand.getByTestId("creator-chart-clicks").getAttribute("aria-label")) ?? "").includes(`${creatorUser.name} 2`), "the per-creator chart shows 2 clicks");
    await seeText(brand.getByTestId("invalid-table"), "bot_agent");
    await seeText(brand.getByTestId("invalid-table"), "repeat_click");
    await seeText(brand.getByTestId("invalid-table"), "curl/8.4.0");
    // a click while the brand is offline: after the reconnect the dashboard subscribes again and catches up
    await brandCtx.setOffline(true);
    await seeText(brand.getByTestId("connection"), "Offline");
    assert((await shopperClick(h.port, code, "127.0.0.5", CHROME_UA)).status === 302, "third shopper redirected");
    await new Promise((r) => setTimeout(r, 600));
    await brandCtx.setOffline(false);
    await seeText(brand.getByTestId("connection"), "Live");
    await seeText(brand.getByTestId("kpi-clicks"), "3");
    await chartTotal(brand, "clicks", "3");
    assert(await brand.evaluate(() => window.__sameDocument === true), "no reload");
    // the table equivalent of the chart, and another bucket size
    await brand.getByText("Show the figures as a table").click();
    const tableClicks = () => brand.getByTestId("series-table").evaluate((t) =>
      [...t.querySelectorAll("tbody tr")].reduce((a, tr) => a + Number(tr.querySelectorAll("td")[0].textContent), 0));
    assert((await tableClicks()) === 3, "the table lists the 3 clicks");
    await brand.getByLabel("Bucket").selectOption("hour");
    for (const deadline = Date.now() + T; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100)))
      if (((await brand.getByTestId("chart-clicks").getAttribute("aria-label").catch(() => "")) ?? "").startsWith("Clicks per hour")) break;
    assert(((await brand.getByTestId("chart-clicks").getAttribute("aria-label")) ?? "").startsWith("Clicks per hour"), "the chart shows hours");
    assert((await tableClicks()) === 3, "the hourly table lists the 3 clicks");
    await chartTotal(brand, "clicks", "3");
    await brand.evaluate(() => window.scrollTo(0, 0));
    await brand.screenshot({ path: join(h.screenshotDir(), "analytics-dashboard.png"), fullPage: true });
    await fitsPhone(brand, "the analytics dashboard", "analytics-phone");
    await keyboardStart(brand, "the analytics dashboard");
    // leaving unsubscribes: back on the campaign, no error
    const subs = (type) => sent.filter((f) => f.includes(`"type":"${type}"`)).length;
    assert(subs("analytics.subscribe") >= 1 && subs("analytics.unsubscribe") === 0, "subscribed while open");
    await brand.getByRole("link", { name: `← ${campaignTitle}` }).click();
    await seeText(brand.getByTestId("campaign-status"), "Published");
    for (const deadline = Date.now() + T; Date.now() < deadline && subs("analytics.unsubscribe") === 0;) await new Promise((r) => setTimeout(r, 100));
    assert(subs("analytics.unsubscribe") === 1, "leaving the dashboard unsubscribes");
  });

  await step("account security: a password change ends the creator's other login; log out everywhere, then back in", async () => {
    const json = (path, method, body, token) => fetch(h.url + path, {
      method,
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const phone = await (await json("/api/v1/users/login", "POST", { email: creatorUser.email, password: creatorUser.password })).json();
    assert(phone.token, "a second login (the creator's phone)");
    await creator.getByRole("link", { name: "Profile & media kit" }).click();
    await creator.getByLabel("Current password").fill("not my password");
    await creator.getByLabel("New password").fill("a fresh passphrase 2026");
    await creator.getByRole("button", { name: "Change password" }).click();
    await see(creator, "This is not your current password.");
    await creator.getByLabel("Current password").fill(creatorUser.password);
    await creator.getByRole("button", { name: "Change password" }).click();
    await see(creator, "Password changed. Your other devices were logged out.");
    await allLabelled(creator, "the account security card");
    assert((await json("/api/v1/users/me/sessions", "GET", undefined, phone.token)).status === 401, "the phone's login ended");
    await creator.getByRole("link", { name: "Conversations" }).click();
    await seeText(creator.getByTestId("connection"), "Live");
    await creator.getByRole("link", { name: "Profile & media kit" }).click();
    await creator.getByRole("button", { name: "Log out everywhere" }).click();
    await creator.waitForURL(/\/login$/, { timeout: T });
    await creator.getByLabel("Email").fill(creatorUser.email);
    await creator.getByLabel("Password").fill("a fresh passphrase 2026");
    await creator.getByRole("button", { name: "Log in" }).click();
    await creator.waitForURL(/\/chats$/, { timeout: T });
    await seeText(creator.getByTestId("connection"), "Live");
  });
}

let pages = {};
const started = Date.now();
let failed = 0;
try {
  await main();
} catch (e) {
  failed = 1;
  console.error(`not ok - ${e.stack ?? e}`);
  console.error("--- pactumd log (tail) ---\n" + h.serverLogText());
  // What each browser showed when it failed: web/test-results/ (not committed).
  const dir = join(h.screenshotDir(), "..", "test-results");
  mkdirSync(dir, { recursive: true });
  for (const [who, page] of Object.entries(pages)) await page.screenshot({ path: join(dir, `failure-${who}.png`) }).catch(() => undefined);
} finally {
  await h.cleanup();
}
console.log(`browser deal test: ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

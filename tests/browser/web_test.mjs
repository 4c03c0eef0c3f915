// web_test.mjs - the buyer's web pages in real headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core). Run by tests/integration/web_browser.sh, which starts Postgres,
// Kafka, Prosody, the carrier simulator, pp-poller, pp-notifier and pp-api, seeds the buyers
// and passes everything in the environment (see need() below). Prints "# step" lines, then
// "ok"; on failure "FAIL: reason", a screenshot of every open page in $PP_TEST_TMP, exit 1.
//
// Waits are wait-until with generous limits; nothing asserts on how long anything took.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run tests/integration/web_browser.sh)`);
  return v;
}

const BASE = need('WEB_BASE');
const DB = need('PP_DB_URL');
const PPCTL = need('PPCTL');
const INBOX = need('INBOX');
const TMP = need('PP_TEST_TMP');
const XMPP_HOST = need('PP_XMPP_HOST');
const XMPP_PORT = need('PP_XMPP_PORT');
const TOK_A = need('WEB_TOKEN_A'); // buyer 1 (Polish, opted in, IM verified)
const TOK_B = need('WEB_TOKEN_B'); // buyer 2
const TOK_EXPIRED = need('WEB_TOKEN_EXPIRED');
const USER_A = need('WEB_USER_A');
const [JID_A, PASS_A] = need('WEB_ACCOUNT_A').split(' '); // buyer 1's linked address
const [JID_A2, PASS_A2] = need('WEB_ACCOUNT_A2').split(' '); // the address buyer 1 links in the browser
const TXN_OFF = need('WEB_TXN_OFF'); // buyer 1's transactions, no shipment yet
const TXN_ON = need('WEB_TXN_ON');
const NUM_OFF = need('WEB_NUMBER_OFF'); // InPost numbers the simulator drives through their life
const NUM_ON = need('WEB_NUMBER_ON');
const SIM = need('WEB_SIM_URL'); // the simulator, on its manual clock

// The card's status labels {status: [pl, en]}, written down independently of api/card.c.
const LABELS = {
  info_received: ['przewoźnik otrzymał dane przesyłki', 'shipment details received'],
  in_transit: ['w drodze', 'in transit'],
  out_for_delivery: ['wydana do doręczenia', 'out for delivery'],
  available_for_pickup: ['czeka na odbiór', 'ready for pickup'],
  delivered: ['doręczona', 'delivered'],
  delivery_failed: ['nieudana próba doręczenia', 'delivery attempt failed'],
  exception: ['problem z przesyłką', 'a problem with the shipment'],
  returning: ['wraca do nadawcy', 'returning to the sender'],
  returned: ['zwrócona do nadawcy', 'returned to the sender'],
  expired: ['śledzenie zakończone', 'tracking ended'],
};

// The same flags as the environment's documented Chromium launch; playwright's launch()
// gives every run a fresh, empty profile directory (--user-data-dir) of its own.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const log = (msg) => console.log('# ' + msg);

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function sql(q) {
  return execFileSync('psql', [DB, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', q], { encoding: 'utf8' }).trim();
}

// wait-until: poll fn (sync or async) every 100 ms until it returns a truthy value.
async function until(what, fn, timeoutMs = 300000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Every message waiting for these accounts (reading empties their offline queues), kept.
const received = [];
function readInbox(accounts) {
  const out = execFileSync(INBOX, ['-H', XMPP_HOST, '-p', XMPP_PORT, '-t', '15000'], {
    input: accounts.map((a) => a.join(' ')).join('\n') + '\n',
    encoding: 'utf8',
  });
  for (const line of out.split('\n')) if (line.trim()) received.push(JSON.parse(line));
  return received;
}

function shipmentOf(txn) {
  return sql(`SELECT id FROM shipments WHERE transaction_id = ${txn} AND replaced_by IS NULL`);
}

function ship(txn, number) {
  execFileSync(PPCTL, ['ship', '--transaction', String(txn), '--carrier', 'inpost', '--number', number],
    { encoding: 'utf8' });
  const id = shipmentOf(txn);
  check(/^[0-9]+$/.test(id), `no shipment for transaction ${txn} after ppctl ship`);
  return id;
}

// The event with this sequence: {id, status}.
function event(shipment, seq) {
  const [id, status] = sql(`SELECT event_id || ' ' || status FROM shipment_events
                            WHERE shipment_id = ${shipment} AND sequence = ${seq}`).split(' ');
  return { id, status, seq };
}

// The notifier's decision about an event for buyer 1: its ledger state once decided.
function decision(ev) {
  return until(`the notifier's decision on event ${ev.seq} (${ev.status})`, () => {
    const st = sql(`SELECT state FROM notifications WHERE event_id = '${ev.id}' AND user_id = ${USER_A}`);
    return st && st !== 'sending' ? st : false;
  });
}

// The simulator's clock stands still until moved: step it to the next moment any parcel
// changes, each step followed by a poll of this shipment, until its sequence passes `after`.
// (At 3,600x real time a slow machine could see the parcel delivered before the test was
// ready for its next change.)
const seqOf = (shipment) => Number(sql(`SELECT sequence FROM shipments WHERE id = ${shipment}`));
const pollsOf = (shipment) => Number(sql(`SELECT polls FROM shipments WHERE id = ${shipment}`));
async function nextChange(what, shipment, after) {
  return until(what, async () => {
    if (seqOf(shipment) > after) return true;
    const polls = pollsOf(shipment);
    const res = await fetch(`${SIM}/sim/clock?step=next`, { method: 'POST' });
    check(res.ok, `POST ${SIM}/sim/clock?step=next: HTTP ${res.status}`);
    await until(`a poll of shipment ${shipment} after a clock step`, () => pollsOf(shipment) > polls, 300000);
    return seqOf(shipment) > after;
  }, 300000);
}

const notifyFlag = () => sql(`SELECT notify_shipment_status FROM users WHERE id = ${USER_A}`);

async function main() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  const pages = [];
  const problems = [];
  // The browser's zone is UTC on purpose: the pages must show Polish time anyway.
  async function newPage(ctx) {
    const page = await ctx.newPage();
    page.setDefaultTimeout(120000); // waits for conditions, generous: a loaded machine is slow, not wrong
    page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
    pages.push(page);
    return page;
  }
  const ctxA = await browser.newContext({ locale: 'pl-PL', timezoneId: 'UTC' });
  const ctxB = await browser.newContext({ locale: 'pl-PL', timezoneId: 'UTC' });
  try {
    await run(ctxA, ctxB, newPage);
    check(problems.length === 0, `browser problems: ${problems.join(' | ')}`);
  } catch (e) {
    for (const [i, p] of pages.entries()) {
      try {
        await p.screenshot({ path: path.join(TMP, `page${i}.png`), fullPage: true });
        console.log(`# page${i}.png: ${p.url()}: ${(await p.innerText('main')).replace(/\s+/g, ' ').slice(0, 400)}`);
      } catch (ignored) {
        /* closed */
      }
    }
    if (problems.length) console.log('# browser problems: ' + problems.join(' | '));
    throw e;
  } finally {
    await browser.close();
  }
}

const text = async (page, sel) => ((await page.textContent(sel)) || '').trim();
const ready = (page) => page.waitForSelector('body[data-state="ready"]', { timeout: 120000 });

async function run(ctxA, ctxB, newPage) {
  const settingsUrl = `${BASE}/moje-konto/ustawienia/powiadomienia`;

  // ---- 1. the settings page shows the stored state; the token leaves the address bar ----
  const settings = await newPage(ctxA);
  await settings.goto(`${settingsUrl}#token=${TOK_A}`);
  await ready(settings);
  check(!settings.url().includes('token'), `the token stayed in the address bar: ${settings.url()}`);
  check((await settings.getAttribute('html', 'lang')) === 'pl', 'the page is not Polish by default');
  const crumbs = await settings.$$eval('nav.crumbs li', (li) => li.map((x) => x.textContent.trim()));
  check(crumbs.join(' › ') === 'Moje konto › Ustawienia › Powiadomienia', `breadcrumb: ${crumbs.join(' › ')}`);
  check((await text(settings, 'label[for="notify-toggle"]')) === 'Powiadomienia o statusie przesyłki',
    'the checkbox label is not "Powiadomienia o statusie przesyłki"');
  check(notifyFlag() === 't', 'set-up: buyer 1 should start opted in');
  check(await settings.isChecked('#notify-toggle'), 'the checkbox is off while the database says on');
  check((await text(settings, '#im-current')) === JID_A, `linked address shown: ${await text(settings, '#im-current')}`);
  check((await settings.getAttribute('#im-verified', 'data-verified')) === 'true', 'the address is not shown verified');
  log('settings page shows the stored state (on, verified address)');

  // ---- 2. a refused save reverts the box and shows the server's message ----
  const refusal = 'shipment_status must be true or false (injected)';
  await settings.route('**/v1/me/notifications', (route) =>
    route.request().method() === 'PUT'
      ? route.fulfill({ status: 422, contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'invalid_field', message: refusal } }) })
      : route.continue());
  await settings.click('#notify-toggle');
  await settings.waitForSelector('#notify-error:not([hidden])');
  check((await text(settings, '#notify-error')).includes(refusal), `error shown: ${await text(settings, '#notify-error')}`);
  check(await settings.isChecked('#notify-toggle'), 'the box was not reverted after a refused save');
  check(notifyFlag() === 't', 'a refused save changed the database');
  await settings.unroute('**/v1/me/notifications');
  log('a refused save reverts the checkbox and shows the message');

  // ---- 3. off: the database says off; a reload shows it ----
  await Promise.all([
    settings.waitForResponse((r) => r.url().endsWith('/v1/me/notifications') && r.request().method() === 'PUT'),
    settings.click('#notify-toggle'),
  ]);
  await settings.waitForSelector('#notify-status:not([hidden])');
  check(notifyFlag() === 'f', `unchecking did not store off (database: ${notifyFlag()})`);
  check(!(await settings.isChecked('#notify-toggle')), 'the box is on after turning it off');
  await settings.reload(); // the token now comes from sessionStorage
  await ready(settings);
  check(!(await settings.isChecked('#notify-toggle')), 'after a reload the box does not show the stored off');
  log('unchecked: users.notify_shipment_status = false, shown after a reload');

  // ---- 4. the next status change while off: decided skipped_opted_out ----
  // A parcel entered now (after the switch) by the seller; the simulator's clock moves it.
  const shipOff = ship(TXN_OFF, NUM_OFF);
  await until(`the first poll of parcel ${NUM_OFF}`, () => seqOf(shipOff) >= 1, 300000);
  await nextChange(`the next status change of parcel ${NUM_OFF}`, shipOff, 1);
  const offEvents = [event(shipOff, 1), event(shipOff, 2)];
  for (const ev of offEvents) {
    const st = await decision(ev);
    check(st === 'skipped_opted_out', `event ${ev.seq} (${ev.status}) while off: ledger ${st}, want skipped_opted_out`);
  }
  log(`off: number entered and the change to ${offEvents[1].status} decided skipped_opted_out`);

  // ---- 5. on again; the card (open in another tab) follows the parcel without a reload ----
  const card = await newPage(ctxA);
  await card.goto(`${BASE}/transakcje/${TXN_ON}#token=${TOK_A}`);
  await ready(card);
  await card.waitForSelector('#no-shipment:not([hidden])');
  await card.evaluate(() => { window.ppSamePage = 'yes'; });

  await Promise.all([
    settings.waitForResponse((r) => r.url().endsWith('/v1/me/notifications') && r.request().method() === 'PUT'),
    settings.click('#notify-toggle'),
  ]);
  await settings.waitForSelector('#notify-status:not([hidden])');
  check(notifyFlag() === 't', `checking did not store on (database: ${notifyFlag()})`);
  check(await settings.isChecked('#notify-toggle'), 'the box is off after turning it on');
  log('checked again: users.notify_shipment_status = true');

  const shipOn = ship(TXN_ON, NUM_ON);
  const shownSeq = async () => Number((await card.getAttribute('#status-label', 'data-sequence')) || 0);
  await until('the card to show the entered parcel', async () => (await shownSeq()) >= 1);
  const first = await shownSeq();
  await nextChange(`the next status change of parcel ${NUM_ON}`, shipOn, first);
  const next = event(shipOn, first + 1);
  const st = await decision(next);
  check(st === 'sent', `the change to ${next.status} after turning on: ledger ${st}, want sent`);
  await until('the card to show a newer status', async () => (await shownSeq()) > first);
  // The card may already show a later change: compare with the event it says it shows.
  const seqNow = await shownSeq();
  const shown = event(shipOn, seqNow);
  check((await text(card, '#status-label')) === LABELS[shown.status][0],
    `card label "${await text(card, '#status-label')}" for ${shown.status}`);
  check((await card.evaluate(() => window.ppSamePage)) === 'yes', 'the card page was reloaded');
  check((await card.$$('#history li')).length === seqNow, 'the history list does not have every event');
  check((await text(card, '#tracking-number')) === NUM_ON && (await text(card, '#carrier')) === 'InPost',
    'the card shows the wrong parcel');
  const entered = sql(`SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM shipment_events
                       WHERE shipment_id = ${shipOn} AND sequence = 1`);
  const warsaw = new Intl.DateTimeFormat('pl-PL', { timeZone: 'Europe/Warsaw', hour: '2-digit', minute: '2-digit' })
    .format(new Date(entered));
  const firstLi = await text(card, `#history li[data-sequence="1"] time`);
  check(firstLi.includes(warsaw), `history time "${firstLi}" is not Warsaw time ${warsaw} (${entered})`);
  log(`on: the change to ${next.status} was sent; the card shows "${LABELS[shown.status][0]}" without a reload`);

  // ---- 6. the inbox: the change after turning on arrived, the ones while off did not ----
  const wantId = `${next.id}:${USER_A}`;
  await until(`message ${wantId} in ${JID_A}'s inbox`, () => readInbox([[JID_A, PASS_A]]).some((m) => m.id === wantId));
  const msg = received.find((m) => m.id === wantId);
  check(msg.jid === JID_A && msg.body.includes(NUM_ON), `message for the change: ${JSON.stringify(msg)}`);
  for (const ev of offEvents) {
    check(!received.some((m) => m.id.startsWith(ev.id + ':')), `a message for event ${ev.seq} (while off) arrived`);
  }
  log(`inbox of ${JID_A}: "${msg.body}" arrived; nothing from while it was off`);

  // ---- 7. another buyer cannot read the card; bad or missing tokens are told so ----
  const other = await newPage(ctxB);
  await other.goto(`${BASE}/transakcje/${TXN_ON}#token=${TOK_B}`);
  await other.waitForSelector('body[data-state="error"]');
  check((await text(other, '#card-error')) === 'Nie znaleziono takiej transakcji na Twoim koncie.',
    `buyer 2 on buyer 1's card: ${await text(other, '#card-error')}`);
  check((await other.$('#shipment:not([hidden])')) === null && !(await other.content()).includes(NUM_ON),
    'buyer 2 sees the parcel');
  await other.goto(`${settingsUrl}#token=${TOK_EXPIRED}`);
  await other.waitForSelector('body[data-state="error"]');
  check((await text(other, '#page-error')).startsWith('Link wygasł'), `expired token: ${await text(other, '#page-error')}`);
  const anon = await newPage(await ctxB.browser().newContext());
  await anon.goto(settingsUrl);
  await anon.waitForSelector('body[data-state="error"]');
  check((await text(anon, '#page-error')).startsWith('Brak danych logowania'), `no token: ${await text(anon, '#page-error')}`);
  log('buyer 2 gets "not found" for buyer 1\'s card; expired and missing tokens are explained');

  // ---- 8. English with ?lang=en ----
  const en = await newPage(ctxA);
  await en.goto(`${settingsUrl}?lang=en#token=${TOK_A}`);
  await ready(en);
  const enCrumbs = await en.$$eval('nav.crumbs li', (li) => li.map((x) => x.textContent.trim()));
  check((await en.getAttribute('html', 'lang')) === 'en' && enCrumbs.join(' › ') === 'My account › Settings › Notifications',
    `English breadcrumb: ${enCrumbs.join(' › ')}`);
  check((await text(en, 'label[for="notify-toggle"]')) === 'Shipment status notifications', 'English checkbox label');
  check(await en.isChecked('#notify-toggle'), 'English page: the box does not show on');
  await en.goto(`${BASE}/transakcje/${TXN_ON}?lang=en`);
  await ready(en);
  const enSeq = Number(await en.getAttribute('#status-label', 'data-sequence'));
  check((await text(en, '#status-label')) === LABELS[event(shipOn, enSeq).status][1], 'English card label');
  log('?lang=en: English breadcrumb, label and card status');

  // ---- 9. IM linking: send a code to a new address, a wrong code is refused, the right one verifies ----
  await settings.fill('#im-address', JID_A2);
  await Promise.all([
    settings.waitForResponse((r) => r.url().endsWith('/v1/me/im-link') && r.request().method() === 'POST'),
    settings.click('#send-code'),
  ]);
  await settings.waitForSelector('#verify-form:not([hidden])');
  check((await text(settings, '#link-status')).includes(JID_A2), `after sending: ${await text(settings, '#link-status')}`);
  const linkEvent = sql(`SELECT event_id FROM im_links WHERE user_id = ${USER_A} AND address = '${JID_A2}'`);
  check(linkEvent, 'no pending link in im_links');
  const codeMsg = await until(`the code message in ${JID_A2}'s inbox`,
    () => readInbox([[JID_A2, PASS_A2]]).find((m) => m.id === `${linkEvent}:${USER_A}`));
  const code = (/(?<![0-9])[0-9]{4,10}(?![0-9])/.exec(codeMsg.body) || [])[0];
  check(code, `no code in the message: ${codeMsg.body}`);
  const wrong = String((Number(code[0]) + 1) % 10) + code.slice(1);
  await settings.fill('#code', wrong);
  const [wrongRes] = await Promise.all([
    settings.waitForResponse((r) => r.url().endsWith('/v1/me/im-link/verify')),
    settings.click('#verify'),
  ]);
  check(wrongRes.status() === 422, `a wrong code answered ${wrongRes.status()}`);
  const serverMsg = (await wrongRes.json()).error.message;
  await settings.waitForSelector('#link-error:not([hidden])');
  check((await text(settings, '#link-error')).includes(serverMsg), `wrong code shown as: ${await text(settings, '#link-error')}`);
  check(sql(`SELECT im_address FROM users WHERE id = ${USER_A}`) === JID_A, 'a wrong code changed the address');
  log(`wrong code: "${await text(settings, '#link-error')}"`);
  await settings.fill('#code', code);
  await settings.click('#verify');
  await until('the page to show the new address verified', async () =>
    (await text(settings, '#im-current')) === JID_A2 &&
    (await settings.getAttribute('#im-verified', 'data-verified')) === 'true');
  check(sql(`SELECT im_address || ' ' || im_verified FROM users WHERE id = ${USER_A}`) === `${JID_A2} true`,
    `database after verifying: ${sql(`SELECT im_address || ' ' || im_verified FROM users WHERE id = ${USER_A}`)}`);
  check((await settings.$('#verify-form[hidden]')) !== null, 'the code form stayed open after verifying');
  log(`linked ${JID_A2}: the page shows it verified, users.im_verified = true`);
}

main().then(
  () => console.log('ok'),
  (e) => {
    console.log('FAIL: ' + e.message);
    process.exit(1);
  },
);

/* app.js - the buyer's pages: notification settings with IM linking, and the payment card
 * that refreshes itself. No framework, no inline code (served under CSP default-src 'self').
 *
 * Authentication: the marketplace links here with the buyer token in the URL fragment
 * (#token=...), which browsers never send to a server; it is kept in sessionStorage for this
 * tab, removed from the address bar, and sent to the JSON API as Authorization: Bearer. */
'use strict';

(function () {
  const TOKEN_KEY = 'parcelpush.buyerToken';
  const TERMINAL = ['delivered', 'returned', 'expired'];
  const body = document.body;
  const lang = body.dataset.lang === 'en' ? 'en' : 'pl';
  const M = readMessages();
  let memoryToken = null; /* when sessionStorage is unavailable */

  function readMessages() {
    const el = document.getElementById('pp-messages');
    try {
      return el ? JSON.parse(el.textContent) : {};
    } catch (e) {
      return {};
    }
  }

  /* Message by key with {name} placeholders filled in. */
  function t(key, vars) {
    let s = Object.prototype.hasOwnProperty.call(M, key) ? M[key] : key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
    }
    return s;
  }

  function $(id) {
    return document.getElementById(id);
  }

  function show(el, text) {
    if (!el) return;
    if (text !== undefined) el.textContent = text;
    el.hidden = false;
  }

  function hide(el) {
    if (el) el.hidden = true;
  }

  /* ---- the buyer token ---- */

  function takeToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (m && m[1]) {
      let tok = m[1];
      try {
        tok = decodeURIComponent(tok);
      } catch (e) {
        /* keep it as it came */
      }
      memoryToken = tok;
      try {
        sessionStorage.setItem(TOKEN_KEY, tok);
      } catch (e) {
        /* private mode or storage disabled: this page view only */
      }
      /* Keep the token out of the address bar, the history and bookmarks. */
      history.replaceState(null, '', location.pathname + location.search);
    }
    if (memoryToken) return memoryToken;
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch (e) {
      return null;
    }
  }

  /* ---- the JSON API ---- */

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  async function api(token, method, path, payload) {
    const headers = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
    const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(payload);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'network', t('err_network'));
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const err = data && data.error ? data.error : {};
      throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText,
                         res.headers.get('Retry-After'));
    }
    return data;
  }

  /* What to tell the buyer about a failed call; prefix names what failed. */
  function describe(err, prefix) {
    if (err.status === 0) return t('err_network');
    if (err.status === 401) return t('err_auth');
    if (err.status === 429) return t('err_rate', { seconds: err.retryAfter || '30' });
    if (err.status >= 500) return t('err_server');
    return prefix ? prefix + ': ' + err.message : err.message;
  }

  /* ---- times (shown in Polish local time whatever the browser's zone) ---- */

  const timeFmt = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'pl-PL', {
    timeZone: 'Europe/Warsaw', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit',
  });
  const clockFmt = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'pl-PL', {
    timeZone: 'Europe/Warsaw', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });

  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    return isNaN(d.getTime()) ? iso : timeFmt.format(d);
  }

  function timeEl(iso) {
    const el = document.createElement('time');
    el.dateTime = iso || '';
    el.textContent = fmtTime(iso);
    return el;
  }

  /* ---- Moje konto › Ustawienia › Powiadomienia ---- */

  function settingsPage(token) {
    const toggle = $('notify-toggle');
    const addr = $('im-address');
    const sendBtn = $('send-code');
    const code = $('code');
    const verifyBtn = $('verify');

    function render(s) {
      toggle.checked = !!s.shipment_status;
      $('im-current').textContent = s.address || t('im_none');
      const badge = $('im-verified');
      if (s.address) {
        badge.dataset.verified = s.verified ? 'true' : 'false';
        show(badge, s.verified ? t('im_verified') : t('im_unverified'));
      } else {
        hide(badge);
      }
      const warn = $('notify-warning');
      if (s.shipment_status && !(s.address && s.verified)) show(warn);
      else hide(warn);
      if (s.pending) {
        show($('link-status'), t('code_sent', { address: s.pending.address, time: fmtTime(s.pending.expires_at) }));
        show($('verify-form'));
      } else {
        hide($('verify-form'));
      }
    }

    async function load() {
      try {
        render(await api(token, 'GET', '/v1/me/notifications'));
        hide($('loading'));
        show($('settings'));
        body.dataset.state = 'ready';
      } catch (err) {
        hide($('loading'));
        show($('page-error'), describe(err, t('load_failed')));
        body.dataset.state = 'error';
      }
    }

    toggle.addEventListener('change', async () => {
      const want = toggle.checked;
      toggle.disabled = true;
      hide($('notify-status'));
      hide($('notify-error'));
      body.dataset.saving = 'true';
      try {
        render(await api(token, 'PUT', '/v1/me/notifications', { shipment_status: want }));
        show($('notify-status'), want ? t('saved_on') : t('saved_off'));
      } catch (err) {
        toggle.checked = !want; /* the stored value did not change */
        show($('notify-error'), describe(err, t('save_failed')));
      } finally {
        toggle.disabled = false;
        delete body.dataset.saving;
      }
    });

    $('link-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      hide($('link-error'));
      hide($('link-status'));
      const address = addr.value.trim();
      if (!/^[^\s@/]+@[^\s@/]+$/.test(address)) {
        show($('link-error'), t('address_invalid'));
        addr.focus();
        return;
      }
      sendBtn.disabled = true;
      try {
        render(await api(token, 'POST', '/v1/me/im-link', { channel: 'xmpp', address }));
        show($('verify-form'));
        code.value = '';
        code.focus();
      } catch (err) {
        show($('link-error'), describe(err, t('link_failed')));
      } finally {
        sendBtn.disabled = false;
      }
    });

    $('verify-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      hide($('link-error'));
      const value = code.value.replace(/\s+/g, '');
      if (!value) {
        show($('link-error'), t('code_empty'));
        code.focus();
        return;
      }
      verifyBtn.disabled = true;
      try {
        const s = await api(token, 'POST', '/v1/me/im-link/verify', { code: value });
        render(s);
        code.value = '';
        addr.value = '';
        hide($('verify-form'));
        show($('link-status'), t('verified_ok', { address: s.address || '' }));
      } catch (err) {
        show($('link-error'), describe(err, t('verify_failed')));
        code.select();
      } finally {
        verifyBtn.disabled = false;
      }
    });

    load();
  }

  /* ---- the payment card /transakcje/{id} ---- */

  function cardPage(token) {
    const m = /^\/transakcje\/([0-9]+)$/.exec(location.pathname);
    const id = m ? m[1] : '';
    const refreshS = Math.max(1, parseInt(body.dataset.refresh, 10) || 5);
    let timer = null;
    $('txn-id').textContent = id;
    show($('refresh-note'), t('refresh_note', { seconds: refreshS }));

    function label(l) {
      return l ? l[lang] || l.pl : '';
    }

    function render(card) {
      const s = card.shipment;
      if (!s) {
        show($('no-shipment'));
        hide($('shipment'));
        return;
      }
      hide($('no-shipment'));
      show($('shipment'));
      $('carrier').textContent = s.carrier_name || s.carrier;
      $('tracking-number').textContent = s.tracking_number;
      const st = $('status-label');
      st.textContent = label(s.status_label);
      st.dataset.status = s.status;
      const last = s.history.length ? s.history[s.history.length - 1].sequence : 0;
      st.dataset.sequence = String(last);
      $('last-event-time').textContent = fmtTime(s.last_event_at);
      /* The carrier's newest place; else where the newest key event happened. */
      const placed = s.history.filter((e) => e.location);
      $('last-place').textContent = s.last_location || (placed.length ? placed[placed.length - 1].location : '—');
      if (s.pickup_point || s.pickup_address) {
        $('pickup-point').textContent = [s.pickup_point, s.pickup_address].filter(Boolean).join(', ');
        $('pickup-deadline').textContent = fmtTime(s.pickup_deadline);
        show($('pickup'));
      } else {
        hide($('pickup'));
      }
      const list = $('history');
      const items = s.history.slice().reverse().map((e) => {
        const li = document.createElement('li');
        li.dataset.sequence = String(e.sequence);
        li.dataset.status = e.status;
        li.appendChild(timeEl(e.occurred_at));
        const what = document.createElement('span');
        what.textContent = e.kind === 'number_entered' ? t('history_entered') : label(e.status_label);
        li.appendChild(what);
        const where = [e.location, e.description].filter(Boolean).join(' · ');
        if (where) {
          const w = document.createElement('span');
          w.className = 'where';
          w.textContent = ' — ' + where;
          li.appendChild(w);
        }
        return li;
      });
      list.replaceChildren(...items);
    }

    async function refresh() {
      timer = null;
      let card;
      try {
        card = await api(token, 'GET', '/v1/transactions/' + id);
      } catch (err) {
        if (err.status === 401 || err.status === 404 || err.status === 400) {
          /* final: no point asking again */
          hide($('loading'));
          hide($('card'));
          show($('card-error'), err.status === 401 ? t('err_auth') : t('card_not_found'));
          body.dataset.state = 'error';
          return;
        }
        if (body.dataset.state === 'loading') {
          hide($('loading'));
          show($('card-error'), describe(err));
        } else {
          show($('refresh-error'), t('refresh_failed'));
        }
        schedule();
        return;
      }
      render(card);
      hide($('loading'));
      hide($('card-error'));
      hide($('refresh-error'));
      show($('card'));
      show($('updated-at'), t('updated_at', { time: clockFmt.format(new Date()) }));
      body.dataset.state = 'ready';
      if (card.shipment && TERMINAL.includes(card.shipment.status)) hide($('refresh-note')); /* final */
      else schedule();
    }

    function schedule() {
      if (!timer) timer = setTimeout(refresh, refreshS * 1000);
    }

    if (!id) {
      hide($('loading'));
      show($('card-error'), t('card_not_found'));
      body.dataset.state = 'error';
      return;
    }
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && timer) {
        clearTimeout(timer);
        timer = null;
        refresh();
      }
    });
    refresh();
  }

  /* ---- the index ---- */

  function indexPage() {
    const form = $('card-form');
    if (!form) return;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = $('card-id').value.trim();
      if (/^[1-9][0-9]{0,18}$/.test(v)) location.assign('/transakcje/' + v + location.search);
      else $('card-id').focus();
    });
  }

  function main() {
    const page = body.dataset.page;
    if (page === 'index') {
      takeToken();
      indexPage();
      return;
    }
    if (page !== 'settings' && page !== 'card') return;
    const token = takeToken();
    if (!token) {
      hide($('loading'));
      show($(page === 'card' ? 'card-error' : 'page-error'), t('err_no_token'));
      body.dataset.state = 'error';
      return;
    }
    if (page === 'settings') settingsPage(token);
    else cardPage(token);
  }

  main();
})();

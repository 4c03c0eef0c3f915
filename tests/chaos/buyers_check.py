#!/usr/bin/env python3
"""buyers_check.py - the chaos run's check from the buyers' side, with its own reader.

It reads what the IM server itself stored for each buyer (Prosody's SQL storage: the buyer's
own message archive, XEP-0313, in the order the server delivered the messages) and compares
it with the status changes in Postgres (shipment_events) and the buyers' toggle history
(notify_changes, stamped by a trigger under the users row lock). Nothing of the notifier's
code or ledger is used. Python 3 standard library only (sqlite3 + psql for Postgres).

Per buyer and status change (event):
  lost           the buyer's toggle was on from the moment the change was recorded
                 (shipment_events.detected_at) to the end of the run, and the message never
                 arrived;
  duplicated     every copy of a message after the first (same stanza id <event_id>:<user_id>);
  out of order   per (buyer, shipment) a message whose sequence is lower than one that
                 arrived before it;
  sent while off the change was recorded while the buyer's toggle was off, and the message
                 arrived (archive time + 1 s, the archive keeps whole seconds) before the
                 toggle went on again: it was decided while off. (A change recorded while on
                 but decided after the buyer turned off is counted only if the decision can
                 be shown, which the buyers' side cannot; the notifier's toggle race test
                 covers that.)
  unexpected     a message whose id names no status change of that buyer.
Why these are sound: the notifier decides a change only after the poller's transaction that
recorded it committed (detected_at is when the carrier's answer came in, never later than that
transaction's start), and the decision reads the
toggle under a share lock of the users row, which the toggle's UPDATE holds from the moment
notify_changes.changed_at was taken until it commits.
"""
import argparse
import bisect
import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
from collections import defaultdict

ID_RE = re.compile(r"""<message\b[^>]*?\sid=(['"])([^'"]*)\1""")
ORIGIN_RE = re.compile(r"""<origin-id\b[^>]*?\sid=(['"])([^'"]*)\1""")
EVENT_ID_RE = re.compile(r"^([0-9a-f-]{36}):([0-9]+)$")


def message_id(xml):
    """The stable id of a stored message: XEP-0359 origin-id, else the id attribute."""
    m = ORIGIN_RE.search(xml) or ID_RE.search(xml)
    return m.group(2) if m else None


class Toggles:
    """A buyer's toggle history: sorted (time, on) changes; state before the first is `default`."""

    def __init__(self, changes, default=True):
        self.changes = sorted(changes)
        self.times = [t for t, _ in self.changes]
        self.default = default

    def state_at(self, t):
        """(on, since, until): the state at t and the change times around it."""
        i = bisect.bisect_right(self.times, t)
        on = self.changes[i - 1][1] if i else self.default
        since = self.times[i - 1] if i else float("-inf")
        until = float("inf")
        for j in range(i, len(self.changes)):
            if self.changes[j][1] != on:
                until = self.times[j]
                break
        return on, since, until

    def on_through(self, start, end):
        """True when the toggle is on at start and never off up to end."""
        on, _, until = self.state_at(start)
        return on and until > end


def analyse(events, received, toggles, end_time):
    """
    events:   iterable of dicts: event_id, user_id, shipment_id, sequence, detected (epoch s)
    received: dict user_id -> list of (order, when, msg_id) as the server stored them
    toggles:  dict user_id -> Toggles (missing: always on)
    end_time: epoch s of the end of the run
    Returns a dict of counts and up to 20 examples of each problem.
    """
    by_id = {}
    for e in events:
        by_id[(e["event_id"], e["user_id"])] = e
    out = {"events": len(by_id), "expected": 0, "received": 0, "lost": 0, "duplicated": 0,
           "out_of_order": 0, "sent_while_off": 0, "unexpected": 0, "examples": defaultdict(list)}

    def example(kind, what):
        if len(out["examples"][kind]) < 20:
            out["examples"][kind].append(what)

    arrived = defaultdict(int)
    for user, msgs in received.items():
        last_seq = {}
        for order, when, mid in sorted(msgs):
            out["received"] += 1
            m = EVENT_ID_RE.match(mid or "")
            e = by_id.get((m.group(1), int(m.group(2)))) if m else None
            if e is None or e["user_id"] != user:
                out["unexpected"] += 1
                example("unexpected", {"user": user, "id": mid})
                continue
            key = (e["event_id"], user)
            arrived[key] += 1
            if arrived[key] > 1:
                out["duplicated"] += 1
                example("duplicated", {"user": user, "id": mid, "copy": arrived[key]})
                continue
            s = e["shipment_id"]
            if s in last_seq and e["sequence"] < last_seq[s]:
                out["out_of_order"] += 1
                example("out_of_order", {"user": user, "shipment": s, "sequence": e["sequence"],
                                         "after": last_seq[s]})
            last_seq[s] = max(last_seq.get(s, e["sequence"]), e["sequence"])
            tg = toggles.get(user)
            if tg is not None:
                on, since, until = tg.state_at(e["detected"])
                if not on and when + 1 <= until:
                    out["sent_while_off"] += 1
                    example("sent_while_off", {"user": user, "id": mid, "detected": e["detected"],
                                               "off_since": since, "on_again": until,
                                               "archived": when})
    for key, e in by_id.items():
        tg = toggles.get(e["user_id"])
        if tg is not None and not tg.on_through(e["detected"], end_time):
            continue
        out["expected"] += 1
        if not arrived.get(key):
            out["lost"] += 1
            example("lost", {"user": e["user_id"], "event": e["event_id"],
                             "shipment": e["shipment_id"], "sequence": e["sequence"]})
    out["examples"] = dict(out["examples"])
    return out


# ------------------------------------------------------------------ readers

def read_archive(sqlite_path, domain, users):
    """user_id -> [(sort_id, when, msg_id)] from the buyers' own archives (store 'archive').
    users: dict local part -> user_id (buyers of interest)."""
    db = sqlite3.connect("file:%s?mode=ro" % sqlite_path, uri=True, timeout=30)
    try:
        rows = db.execute(
            'SELECT "user", sort_id, "when", value FROM prosodyarchive'
            " WHERE host = ? AND store = 'archive' AND type = 'xml' ORDER BY sort_id", (domain,))
        got = defaultdict(list)
        for user, sort_id, when, value in rows:
            uid = users.get(user)
            if uid is None:
                continue
            # a buyer's archive holds what was sent to them (and what they sent: nothing here)
            if "to='%s@" % user not in value and 'to="%s@' % user not in value:
                continue
            got[uid].append((sort_id, int(when), message_id(value)))
        return got
    finally:
        db.close()


def psql_rows(db_url, sql):
    out = subprocess.run(["psql", db_url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c",
                          "COPY (%s) TO STDOUT WITH CSV" % sql],
                         check=True, capture_output=True, text=True).stdout
    return list(csv.reader(io.StringIO(out)))


def read_postgres(db_url):
    """(events, users local part -> id, toggles) from Postgres."""
    events = [{"event_id": r[0], "user_id": int(r[1]), "shipment_id": int(r[2]),
               "sequence": int(r[3]), "detected": float(r[4])}
              for r in psql_rows(db_url,
                                 "SELECT e.event_id, u.id, e.shipment_id, e.sequence,"
                                 " extract(epoch FROM e.detected_at)"
                                 " FROM shipment_events e JOIN shipments s ON s.id = e.shipment_id"
                                 " JOIN transactions t ON t.id = s.transaction_id"
                                 " JOIN users u ON u.id = t.buyer_id"
                                 " WHERE u.im_verified AND u.im_address IS NOT NULL")]
    users = {}
    for r in psql_rows(db_url, "SELECT id, split_part(im_address, '@', 1) FROM users"
                               " WHERE im_verified AND im_address IS NOT NULL"):
        users[r[1]] = int(r[0])
    changes = defaultdict(list)
    for r in psql_rows(db_url, "SELECT user_id, extract(epoch FROM changed_at), shipment_status"
                               " FROM notify_changes ORDER BY id"):
        changes[int(r[0])].append((float(r[1]), r[2] == "t"))
    toggles = {u: Toggles(c, default=False) for u, c in changes.items()}
    return events, users, toggles


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db-url", required=True, help="Postgres (psql) URL of the run's database")
    ap.add_argument("--archive", required=True, help="Prosody's SQLite database (prosody.sqlite)")
    ap.add_argument("--domain", default="parcelpush.test")
    ap.add_argument("--end", type=float, required=True, help="end of the run, epoch seconds")
    ap.add_argument("--json", help="write the result here too")
    a = ap.parse_args(argv)
    events, users, toggles = read_postgres(a.db_url)
    received = read_archive(a.archive, a.domain, users)
    res = analyse(events, received, toggles, a.end)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k != "examples"}))
    bad = res["lost"] + res["duplicated"] + res["out_of_order"] + res["sent_while_off"] + res["unexpected"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Unit test of buyers_check.analyse (and its archive reader) on made-up runs: each kind of
problem is found, and a clean run is clean. Run by tests/run (unit/chaos_buyers_check)."""
import os
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import buyers_check as bc  # noqa: E402

E1, E2, E3 = ("00000000-0000-0000-0000-00000000000%d" % i for i in (1, 2, 3))


def ev(eid, user, seq, detected, shipment=10):
    return {"event_id": eid, "user_id": user, "shipment_id": shipment, "sequence": seq,
            "detected": detected}


def msg(order, when, eid, user):
    return (order, when, "%s:%d" % (eid, user))


EVENTS = [ev(E1, 7, 1, 100.0), ev(E2, 7, 2, 200.0), ev(E3, 7, 3, 300.0)]
ALWAYS_ON = {7: bc.Toggles([(0.0, True)])}


class AnalyseTest(unittest.TestCase):
    def check(self, received, toggles=ALWAYS_ON, **want):
        res = bc.analyse(EVENTS, {7: received}, toggles, 1000.0)
        for k in ("lost", "duplicated", "out_of_order", "sent_while_off", "unexpected"):
            self.assertEqual(res[k], want.get(k, 0), "%s: %s" % (k, res))
        return res

    def test_clean(self):
        res = self.check([msg(1, 101, E1, 7), msg(2, 201, E2, 7), msg(3, 301, E3, 7)])
        self.assertEqual(res["expected"], 3)
        self.assertEqual(res["received"], 3)

    def test_lost(self):
        res = self.check([msg(1, 101, E1, 7), msg(3, 301, E3, 7)], lost=1)
        self.assertEqual(res["examples"]["lost"][0]["event"], E2)

    def test_duplicated(self):
        self.check([msg(1, 101, E1, 7), msg(2, 201, E2, 7), msg(3, 202, E2, 7),
                    msg(4, 301, E3, 7)], duplicated=1)

    def test_out_of_order(self):
        self.check([msg(1, 101, E1, 7), msg(2, 301, E3, 7), msg(3, 302, E2, 7)], out_of_order=1)

    def test_order_is_the_servers_not_the_timestamps(self):
        # same second: the archive's sort order decides
        self.check([msg(2, 300, E1, 7), msg(1, 300, E2, 7), msg(3, 300, E3, 7)], out_of_order=1)

    def test_other_shipments_do_not_interleave(self):
        events = EVENTS + [ev("00000000-0000-0000-0000-000000000009", 7, 1, 150.0, shipment=11)]
        res = bc.analyse(events, {7: [msg(1, 101, E1, 7), msg(2, 201, E2, 7),
                                      (3, 202, "00000000-0000-0000-0000-000000000009:7"),
                                      msg(4, 301, E3, 7)]}, ALWAYS_ON, 1000.0)
        self.assertEqual((res["out_of_order"], res["lost"]), (0, 0))

    def test_unexpected(self):
        self.check([msg(1, 101, E1, 7), msg(2, 201, E2, 7), msg(3, 301, E3, 7),
                    (4, 302, "nonsense"), msg(5, 303, E1, 8)], unexpected=2)

    def test_off_while_recorded_and_arrived_before_on_again(self):
        tg = {7: bc.Toggles([(0.0, True), (150.0, False), (250.0, True)])}
        # E2 recorded at 200 while off; arrived at 210 (< 250): sent while off
        self.check([msg(1, 101, E1, 7), msg(2, 210, E2, 7), msg(3, 301, E3, 7)], tg,
                   sent_while_off=1)

    def test_off_while_recorded_but_arrived_after_on_again(self):
        tg = {7: bc.Toggles([(0.0, True), (150.0, False), (250.0, True)])}
        # arrived in the second the toggle went on: may have been decided after it
        self.check([msg(1, 101, E1, 7), msg(2, 250, E2, 7), msg(3, 301, E3, 7)], tg)

    def test_skipped_while_off_is_not_lost(self):
        tg = {7: bc.Toggles([(0.0, True), (150.0, False), (250.0, True)])}
        res = self.check([msg(1, 101, E1, 7), msg(3, 301, E3, 7)], tg)
        self.assertEqual(res["expected"], 1)  # E3; E1 may have been decided after the off

    def test_recorded_before_off_may_go_either_way(self):
        tg = {7: bc.Toggles([(0.0, True), (150.0, False), (250.0, True)])}
        self.check([msg(3, 301, E3, 7)], tg)  # E1 skipped (E2 recorded while off): fine
        self.check([msg(1, 160, E1, 7), msg(2, 301, E3, 7)], tg)  # E1 sent during off: fine

    def test_off_at_the_end_expects_nothing_after(self):
        tg = {7: bc.Toggles([(0.0, True), (250.0, False)])}
        res = self.check([msg(1, 101, E1, 7)], tg)
        self.assertEqual(res["expected"], 0)  # each may have been decided after 250

    def test_toggle_state(self):
        t = bc.Toggles([(10.0, True), (20.0, False), (30.0, False), (40.0, True)], default=False)
        self.assertEqual(t.state_at(5.0), (False, float("-inf"), 10.0))
        self.assertEqual(t.state_at(25.0), (False, 20.0, 40.0))
        self.assertTrue(t.on_through(40.0, 100.0))
        self.assertFalse(t.on_through(15.0, 100.0))


class ArchiveReaderTest(unittest.TestCase):
    def test_reads_the_buyers_archive_in_server_order(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "prosody.sqlite")
            db = sqlite3.connect(path)
            db.execute('CREATE TABLE prosodyarchive (sort_id INTEGER PRIMARY KEY AUTOINCREMENT,'
                       ' host TEXT, user TEXT, store TEXT, key TEXT, "when" INTEGER, "with" TEXT,'
                       ' type TEXT, value TEXT)')
            rows = [
                ("buyer7", "archive", 200, "<message to='buyer7@d.test' id='%s:7' type='chat'>"
                 "<body>b</body></message>" % E2),
                ("bot", "archive", 100, "<message to='buyer7@d.test' id='%s:7'/>" % E1),
                ("buyer7", "offline", 100, "<message to='buyer7@d.test' id='%s:7'/>" % E1),
                ("buyer7", "archive", 100, "<message type='chat' to='buyer7@d.test' id='x'>"
                 "<origin-id xmlns='urn:xmpp:sid:0' id='%s:7'/></message>" % E1),
                ("buyer7", "archive", 300, "<message to='bot@d.test' id='%s:7'/>" % E3),
                ("buyer8", "archive", 300, "<message to='buyer8@d.test' id='%s:8'/>" % E3),
            ]
            for user, store, when, value in rows:
                db.execute("INSERT INTO prosodyarchive (host, user, store, key, \"when\", \"with\","
                           " type, value) VALUES ('d.test', ?, ?, 'k', ?, '', 'xml', ?)",
                           (user, store, when, value))
            db.commit()
            db.close()
            got = bc.read_archive(path, "d.test", {"buyer7": 7})
            self.assertEqual([m[2] for m in got[7]], ["%s:7" % E2, "%s:7" % E1])
            self.assertEqual(list(got), [7])


if __name__ == "__main__":
    unittest.main()

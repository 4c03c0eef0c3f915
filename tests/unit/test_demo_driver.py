#!/usr/bin/env python3
"""Unit test of the demo driver's HTTP client (tools/demo/pp-demo-driver, Api.call): a
request answered 503 (pp-api while Postgres is away), 502, 504 or 429, or whose connection
is dropped, is tried again with back-off until it is answered; other errors are not.
Run by tests/run as unit/demo_driver."""
import http.server
import importlib.machinery
import importlib.util
import json
import os
import threading
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_loader = importlib.machinery.SourceFileLoader("pp_demo_driver",
                                               os.path.join(ROOT, "tools/demo/pp-demo-driver"))
_spec = importlib.util.spec_from_loader("pp_demo_driver", _loader)
driver = importlib.util.module_from_spec(_spec)
_loader.exec_module(driver)


class Script(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next status of the server's script (then 200)."""
    protocol_version = "HTTP/1.1"

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        srv = self.server
        srv.seen += 1
        status = srv.script.pop(0) if srv.script else 200
        if status == "drop":
            self.close_connection = True
            self.connection.close()
            return
        body = json.dumps({"ok": status == 200}).encode()
        self.send_response(status)
        if status in (429, 503):
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ApiRetryTest(unittest.TestCase):
    def serve(self, script):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Script)
        srv.script, srv.seen = list(script), 0
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srv, driver.Api("http://127.0.0.1:%d" % srv.server_address[1])

    def test_outage_answers_are_tried_again(self):
        srv, api = self.serve([503, 503, 502, 504, "drop", 429])
        before = driver.Api.retried
        status, got = api.call("PUT", "/v1/me/notifications", "tok", {"shipment_status": True})
        self.assertEqual((status, got), (200, {"ok": True}))
        self.assertEqual(srv.seen, 7)
        self.assertEqual(driver.Api.retried, before + 1)

    def test_other_errors_are_not(self):
        srv, api = self.serve([400])
        with self.assertRaisesRegex(RuntimeError, "HTTP 400"):
            api.call("PUT", "/x", "tok", {})
        self.assertEqual(srv.seen, 1)

    def test_gives_up_after_its_time(self):
        srv, api = self.serve([503] * 1000)
        api.RETRY_FOR_S = 0.5
        with self.assertRaisesRegex(RuntimeError, "gave up.*HTTP 503"):
            api.call("PUT", "/x", "tok", {})


if __name__ == "__main__":
    unittest.main()

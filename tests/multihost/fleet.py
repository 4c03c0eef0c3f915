"""fleet.py - the servers, the simulator, the load and the workers of a multi-host run.

Built on netns.py: the stack and the simulator in the srv namespace, pollers and notifiers
in the host namespaces, every command that talks to a server (psql, ppctl) run in srv.
Shared by tests/multihost/multihost (the test) and tools/bench/scale-curve (the curve).
"""
import json
import os
import subprocess
import time

import netns

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(msg):
    print("[multihost %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class Fleet:
    def __init__(self, a, hosts):
        self.a = a
        self.build = os.path.abspath(a.build)
        self.ppctl = os.path.join(self.build, "tools/ppctl/ppctl")
        self.net = netns.Net(a.prefix, hosts)
        self.stack = netns.Stack(ROOT, self.net, a.state, a.port_base)
        self.dir = a.out
        os.makedirs(self.dir, exist_ok=True)
        self.procs = {}  # name -> netns.Proc
        self.sim = None
        self.env = None
        self.waves = self.entered = 0

    # ------------------------------------------------------------ servers
    def srv(self, argv, check=True, input=None, timeout=600):
        return netns.sh(netns.in_ns(self.net.srv, argv), check=check, env=self.env, input=input,
                        timeout=timeout)

    def sql(self, q):
        r = self.srv(["psql", self.env["PP_DB_URL"], "-XAtq", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                      "-c", q], check=False, timeout=60)
        return r.stdout.rstrip("\n") if r.returncode == 0 else None

    def up(self, sim_args=()):
        self.sim_speed = getattr(self.a, "sim_speed", None) or self.a.speed
        log("namespaces: %s, %s (servers on %s)" % (self.net.srv, ", ".join(
            self.net.ns(h) for h in self.net.hosts), netns.SRV_ADDR))
        self.net.setup()
        self.env = self.stack.start()
        self.srv([self.ppctl, "migrate"])
        self.srv([self.ppctl, "topics"])
        self.archive = os.path.join(self.env["PP_STACK_STATE"], "prosody/data/prosody.sqlite")
        sim = netns.Proc("sim", self.net.srv, [
            os.path.join(self.build, "tools/carrier-sim/pp-carrier-sim"), "--listen",
            netns.SRV_ADDR + ":0", "--speed", str(self.sim_speed), "--token", "mh-token",
            "--client-id", "mh", "--client-secret", "mh-secret"] + list(sim_args), self.env, self.dir)
        self.sim = sim.start()
        url = None
        for _ in range(300):
            for line in open(sim.logpath, errors="replace"):
                if line.startswith("listening on "):
                    url = "http://" + line.split()[2]
            if url:
                break
            time.sleep(0.1)
        if not url:
            raise RuntimeError("the carrier simulator did not start (%s)" % sim.logpath)
        e = self.env
        carriers = self.srv([self.ppctl, "config", "--carriers"]).stdout.split()
        for c in carriers:
            c = c.upper()
            e["PP_%s_BASE_URL" % c], e["PP_%s_RPS" % c], e["PP_%s_PER_DAY" % c] = url, "1000", "0"
        e.update(PP_ORLEN_PUBLIC_URL=url, PP_INPOST_TOKEN="mh-token", PP_DHL_API_KEY="mh-token",
                 PP_UPS_CLIENT_ID="mh", PP_UPS_CLIENT_SECRET="mh-secret",
                 PP_GLS_CLIENT_ID="mh", PP_GLS_CLIENT_SECRET="mh-secret",
                 PP_ORLEN_PARTNER_ID="mh", PP_ORLEN_PARTNER_KEY="mh-secret",
                 PP_DPD_LOGIN="mh", PP_DPD_PASSWORD="mh-secret",
                 PP_POCZTAPOLSKA_USERNAME="mh", PP_POCZTAPOLSKA_PASSWORD="mh-secret",
                 PP_SPEED=str(self.a.speed), PP_LEASE_S=str(self.a.lease_s),
                 PP_OPS_ADDR="127.0.0.1:0", PP_LOG_LEVEL=e.get("PP_LOG_LEVEL", "info"))
        log("servers up in %s; simulator at %s (clock x%d); logs in %s"
            % (self.net.srv, url, self.sim_speed, self.dir))

    def down(self):
        for p in self.procs.values():
            if p.alive():
                p.p.kill()
        if self.sim and self.sim.alive():
            self.sim.p.kill()
        if self.env:
            self.stack.stop()
        self.net.teardown()

    # ------------------------------------------------------------ workers
    def start(self, kind, host, n):
        name = "%s-%s%d" % (kind, host, n)
        env = dict(self.env, PP_WORKER_ID=name)
        p = netns.Proc(name, self.net.ns(host), [os.path.join(self.build, "%s/pp-%s" % (kind, kind))],
                       env, self.dir, hostname="host" + host)
        self.procs[name] = p.start()
        return name

    def running(self, kind=None, host=None):
        return sorted(n for n, p in self.procs.items() if p.alive() and
                      (kind is None or n.startswith(kind + "-")) and
                      (host is None or n.split("-")[1][:-1] == host))

    def counters(self):
        """worker id -> its counters (the heartbeat's copy in the workers table)."""
        out = self.sql("SELECT id, counters FROM workers") or ""
        return {l.split("\t")[0]: json.loads(l.split("\t")[1]) for l in out.splitlines() if l}

    def totals(self):
        """(polls written, IMs sent) over every worker the run started."""
        c = self.counters()
        return (sum(v.get("written", 0) for k, v in c.items() if k.startswith("poller-")),
                sum(v.get("sent", 0) for k, v in c.items() if k.startswith("notifier-")))

    # ------------------------------------------------------------ load
    def enter_wave(self, wave, optin):
        """A wave's buyers on Prosody, then its parcels (ppctl seed, verified XMPP addresses,
        optin % of the buyers opted in, the others opted out)."""
        first = 1 + self.waves * wave
        buyers = max(1, wave // 3)
        acc = "".join("buyer%d buyerpass%d\n" % (u, u) for u in range(first, first + buyers))
        if not self.stack.register(acc):
            return False
        r = self.srv([self.ppctl, "seed", "--transactions", str(wave), "--buyers", str(buyers),
                      "--first-id", str(first), "--run", "1", "--sellers", "5", "--optin", str(optin),
                      "--xmpp-domain", self.env["PP_XMPP_DOMAIN"]], check=False)
        if r.returncode:
            return False
        self.waves += 1
        self.entered += wave
        return True

    def active(self):
        v = self.sql("SELECT count(*) FROM shipments WHERE next_poll_at IS NOT NULL")
        return int(v) if v else None

    def undecided(self):
        """Status changes no notifier has decided yet (or left in 'sending')."""
        v = self.sql("SELECT count(*) FROM shipment_events e LEFT JOIN notifications n"
                     " ON n.event_id = e.event_id WHERE n.event_id IS NULL OR n.state = 'sending'")
        return int(v) if v else None

    def status(self):
        """ppctl status, as an operator would run it (next to the servers)."""
        return self.srv([self.ppctl, "status"], check=False, timeout=120).stdout

    def buyers_check(self, end):
        """tests/chaos/buyers_check.py, run in srv (it asks Postgres with psql)."""
        out = os.path.join(self.dir, "buyers_check.json")
        r = self.srv(["python3", os.path.join(ROOT, "tests/chaos/buyers_check.py"), "--db-url",
                      self.env["PP_DB_URL"], "--archive", self.archive, "--domain",
                      self.env["PP_XMPP_DOMAIN"], "--end", str(end), "--json", out], check=False)
        with open(out) as f:
            return r.returncode, json.load(f)


def add_common_args(ap, default_base):
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--port-base", type=int, default=default_base)
    ap.add_argument("--state", default=None, help="stack state dir (default .local/multihost-PORTBASE)")
    ap.add_argument("--prefix", default=None, help="namespace names' prefix (default ppPORTBASE)")
    ap.add_argument("--out", default=None, help="run dir for the logs (default a temp dir)")
    ap.add_argument("--speed", type=int, default=4000, help="simulated carrier clock acceleration")
    ap.add_argument("--lease-s", type=int, default=10, help="the pollers' lease_s")


def fill_defaults(a):
    import tempfile
    a.state = a.state or os.path.join(ROOT, ".local/multihost-%d" % a.port_base)
    a.prefix = a.prefix or "pp%d" % a.port_base
    a.out = a.out or tempfile.mkdtemp(prefix="pp-multihost.")

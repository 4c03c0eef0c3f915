"""netns.py - the fleet as several hosts on one machine, with Linux network namespaces.

One namespace "<prefix>-srv" holds the servers (Postgres, Kafka, Prosody through
deploy/local/stack with PP_STACK_ADDR, and the carrier simulator) on 10.77.0.1; each "host"
namespace ("<prefix>-hostA", ...) holds workers and reaches the servers over a veth pair
whose other end sits on a bridge in srv (10.77.0.1/24 on the bridge, 10.77.0.11, .12, ... on
the hosts). Nothing is created outside these namespaces but the namespaces themselves (and
the veth ends, which move into them at once); `teardown` removes them, and with them every
interface and address. Used by tests/multihost/multihost and tools/bench/scale-curve.
Python 3 standard library; run as root.
"""
import os
import shlex
import signal
import subprocess
import time

SRV_ADDR = "10.77.0.1"


def sh(argv, check=True, env=None, timeout=600, input=None):
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, input=input)
    if check and r.returncode:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(map(shlex.quote, argv)), r.returncode,
                                                   (r.stderr or r.stdout).strip()[-2000:]))
    return r


class Net:
    """The namespaces of one run: prefix-srv and prefix-host<X> for each host letter."""

    def __init__(self, prefix, hosts):
        self.prefix, self.hosts = prefix, list(hosts)
        self.srv = prefix + "-srv"

    def ns(self, host):
        return "%s-host%s" % (self.prefix, host)

    def veth(self, host):
        return "ve%s%s" % (self.prefix[-6:], host)  # the host's end; its srv end adds "s"

    def addr(self, host):
        return "10.77.0.%d" % (11 + self.hosts.index(host))

    def ip(self, ns, *args):
        sh(["ip", "-n", ns] + list(args))

    def setup(self):
        self.teardown()  # left over from a run that was killed before its clean-up
        sh(["ip", "netns", "add", self.srv])
        self.ip(self.srv, "link", "set", "lo", "up")
        self.ip(self.srv, "link", "add", "br0", "type", "bridge")
        self.ip(self.srv, "addr", "add", SRV_ADDR + "/24", "dev", "br0")
        self.ip(self.srv, "link", "set", "br0", "up")
        for h in self.hosts:
            ns, v = self.ns(h), self.veth(h)
            sh(["ip", "netns", "add", ns])
            self.ip(ns, "link", "set", "lo", "up")
            # created inside the host's namespace, its peer moved into srv: never in ours
            self.ip(ns, "link", "add", v, "type", "veth", "peer", "name", v + "s", "netns", self.srv)
            self.ip(ns, "addr", "add", self.addr(h) + "/24", "dev", v)
            self.ip(ns, "link", "set", v, "up")
            self.ip(self.srv, "link", "set", v + "s", "master", "br0")
            self.ip(self.srv, "link", "set", v + "s", "up")

    def link(self, host, up):
        """Cut a host off the network (its interface down) or bring it back."""
        self.ip(self.ns(host), "link", "set", self.veth(host), "up" if up else "down")

    def pids(self, ns):
        r = sh(["ip", "netns", "pids", ns], check=False)
        return [int(p) for p in r.stdout.split()] if r.returncode == 0 else []

    def kill_all(self, ns, sig=signal.SIGKILL):
        """Signal every process in a namespace (a host's crash); returns how many."""
        pids = self.pids(ns)
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        return len(pids)

    def teardown(self):
        names = set(sh(["ip", "netns", "list"], check=False).stdout.split())
        for ns in [self.ns(h) for h in self.hosts] + [self.srv]:
            if ns not in names:
                continue
            for _ in range(50):
                if not self.kill_all(ns):
                    break
                time.sleep(0.1)
            sh(["ip", "netns", "del", ns], check=False)


class Proc:
    """A worker (or the simulator) run inside a namespace; its log is appended to."""

    def __init__(self, name, ns, argv, env, logdir, hostname=None):
        self.name, self.ns, self.argv, self.env = name, ns, argv, env
        if hostname:  # its own host name too (the workers table's host column), then exec
            self.argv = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', hostname] + argv
        self.logpath = os.path.join(logdir, name + ".log")
        self.p = None

    def start(self):
        with open(self.logpath, "ab") as f:
            self.p = subprocess.Popen(["ip", "netns", "exec", self.ns] + self.argv, env=self.env,
                                      stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
        return self

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def stop(self, timeout=60):
        """SIGTERM (ip netns exec execs the worker: the pid is the worker's); the exit code."""
        if not self.alive():
            return self.p.returncode if self.p else 0
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()


class Stack:
    """deploy/local/stack inside the srv namespace, on SRV_ADDR."""

    def __init__(self, root, net, state, port_base):
        self.net = net
        self.cmd = ["ip", "netns", "exec", net.srv, os.path.join(root, "deploy/local/stack"),
                    "--state", state, "--port-base", str(port_base)]
        self.env = None

    def start(self):
        env = dict(os.environ, PP_STACK_ADDR=SRV_ADDR, PP_PG_SYNCHRONOUS_COMMIT="on")
        sh(self.cmd + ["start"], env=env)
        self.env = dict(os.environ)
        for line in sh(self.cmd + ["env"]).stdout.splitlines():
            if line.startswith("export "):
                k, v = line[7:].split("=", 1)
                self.env[k] = shlex.split(v)[0] if v else ""
        sh(self.cmd + ["reset-data"])
        return self.env

    def register(self, accounts):
        return sh(self.cmd + ["xmpp-register"], input=accounts, check=False).returncode == 0

    def stop(self):
        sh(self.cmd + ["stop"], check=False)


def in_ns(net_ns, argv):
    return ["ip", "netns", "exec", net_ns] + argv

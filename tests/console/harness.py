"""harness.py — a real cccd with its console, and real headless Chromiums
presenting real client certificates, for the console's browser tests.

Owns the run's temporary tree (a throwaway PKI made by certs/mkpki.sh, the
broker's config, registry and store, one HOME and profile per browser), the
processes it starts (cccd, chromedriver and its Chromium) and one Chromium
policy file. Must never signal a process it did not start (a broker is known
by its Popen, a browser by its driver), never leave the policy file behind
(removed at exit, on SIGTERM, SIGINT and SIGHUP too; one left by a run that
was killed outright is removed by the next run once its pid is gone), and
never let a browser reach anything but loopback (the flags in CHROMIUM_FLAGS
turn off Chromium's own traffic: updates, sync, QUIC, background requests).

How a browser gets its certificate, without any prompt:
- a fresh HOME whose NSS database ($HOME/.pki/nssdb, where Chromium on Linux
  keeps certificates) holds only the test CA, trusted for servers
  (certutil -A -t "C,,"), and the one endpoint's client certificate and key,
  imported from the PKCS#12 file mkpki.sh wrote (pk12util);
- Chromium's policy AutoSelectCertificateForUrls, in a uniquely named file
  under /etc/chromium/policies/managed/, selecting for the console's URL
  (https://127.0.0.1:PORT) the certificate whose issuer's CN is the run's
  own CA name, which carries this process's pid: no other CA can match.
  Writing there needs root (the tests run as root in CI); otherwise every
  browser test is skipped with a message saying why.

`python3 harness.py probe` checks the mechanism alone against
`openssl s_server -Verify 1 -WWW` (no cccd needed) and prints what the server
saw.

CCC_BUILD names the build directory (default build) holding cccd and ccc.
Every wait is bounded.
"""
import atexit
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

SRCDIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("CCC_BUILD",
                                       os.path.join(SRCDIR, "build")))
CCC = os.path.join(BUILD, "ccc")
CCCD = os.path.join(BUILD, "cccd")
MKPKI = os.path.join(SRCDIR, "certs", "mkpki.sh")
ENDPOINTS = os.path.join(SRCDIR, "certs", "demo-endpoints.txt")
REGISTRY = os.path.join(SRCDIR, "broker", "etc", "registry.yaml")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
POLICY_DIR = "/etc/chromium/policies/managed"
POLICY_PREFIX = "ccc-console-test-"
P12_PASS = "demo"                   # mkpki.sh's default for the .p12 files
WIDTH, HEIGHT = 1400, 900           # window and screenshots
START_S = 15                        # bound on a broker's or browser's start
STOP_S = 10                         # bound on a broker's stop

# Flags that keep Chromium off the network but for the pages it is sent
# to. The first ones turn off its own requests (background networking,
# component updates, sync, QUIC, the network time and the search engine's
# preconnect); they are not enough on their own (its net log still shows
# names of Google's and the search engine's looked up and connected to), so
# the host resolver rule refuses every host name: nothing is looked up, and
# nothing but an address literal (the tests': 127.0.0.1) is reached.
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
    "--no-default-browser-check", "--metrics-recording-only", "--no-pings",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter,"
    "NetworkTimeServiceQuerying",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=%d,%d" % (WIDTH, HEIGHT),
]


class Skip(Exception):
    """The browser tests cannot run here; the message says why."""


def wait_for(what, seconds, step=0.05):
    """what()'s first true value, polling every step seconds for at most
    seconds; None (or the false value) when the time is up."""
    end = time.monotonic() + seconds
    while True:
        v = what()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def _die_with_parent():
    """preexec_fn: the child is killed when this process dies, however it
    dies (PR_SET_PDEATHSIG), so that a killed test run leaves no cccd."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def missing_tools():
    """What the browser tests need and this machine lacks: [] when none."""
    out = []
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            out.append(path)
    for tool in ("certutil", "pk12util", "openssl"):
        if shutil.which(tool) is None:
            out.append(tool)
    try:
        import selenium  # noqa: F401  (Debian's python3-selenium)
    except ImportError:
        out.append("python3-selenium")
    return out


def check_can_run():
    """Raises Skip, with the reason, when the browser tests cannot run."""
    lack = missing_tools()
    if lack:
        raise Skip("missing %s (make deps installs chromium, chromium-driver,"
                   " python3-selenium and libnss3-tools)" % ", ".join(lack))
    try:
        os.makedirs(POLICY_DIR, exist_ok=True)
    except OSError as e:
        raise Skip("cannot create %s (%s): the client certificate is chosen"
                   " by a Chromium policy, which needs root" % (POLICY_DIR,
                                                               e.strerror))
    if not os.access(POLICY_DIR, os.W_OK):
        raise Skip("%s is not writable: the client certificate is chosen by"
                   " a Chromium policy, which needs root" % POLICY_DIR)


# ---- clean-up at exit, whatever ends the run --------------------------------

_cleanups = []


def _run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:          # keep cleaning up the rest
            print("harness: clean-up failed: %s" % e, file=sys.stderr)


def _on_signal(signum, frame):
    """Clean up and end at once: a SystemExit would be taken by unittest
    for one more failed test, and the run would go on."""
    print("harness: signal %d: cleaning up and ending" % signum,
          file=sys.stderr, flush=True)
    _run_cleanups()
    os._exit(128 + signum)


atexit.register(_run_cleanups)
for _sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(_sig, _on_signal)


def on_exit(fn):
    """Run fn at exit (last registered, first run); returns fn."""
    _cleanups.append(fn)
    return fn


def remove_tree(path):
    """rm -r PATH; once more a moment later when a browser that was ending
    still wrote into it."""
    shutil.rmtree(path, ignore_errors=True)
    if os.path.exists(path):
        time.sleep(0.5)
        shutil.rmtree(path, ignore_errors=True)


def forget(fn):
    """fn has run already: not again at exit."""
    if fn in _cleanups:
        _cleanups.remove(fn)


# ---- the PKI ---------------------------------------------------------------

class Pki:
    """certs/mkpki.sh's PKI of the demo endpoints in DIR, with a CA name of
    this run's own (the browsers' policy selects certificates by it)."""

    def __init__(self, directory):
        self.dir = directory
        self.ca_name = "ccc console test CA %d" % os.getpid()
        r = subprocess.run(["sh", MKPKI, directory, ENDPOINTS,
                            "--ca-name", self.ca_name, "--p12-pass", P12_PASS],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
        if r.returncode != 0:
            raise RuntimeError("mkpki.sh failed:\n" + r.stdout.decode())
        self.ca = self.file("ca.pem")

    def file(self, name):
        return os.path.join(self.dir, name)

    def fingerprint(self, name):
        """Hex SHA-256 of NAME.pem's certificate (DER), as the journal has
        it."""
        import hashlib
        import ssl
        with open(self.file(name + ".pem")) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        return hashlib.sha256(der).hexdigest()


# ---- the broker -------------------------------------------------------------

class Broker:
    """A real cccd with its console on loopback: start(), stop(), start()
    again on the same ports (the config is pinned to them after the first
    start), publish() with the real ccc, audit() reads its journal."""

    LISTEN_RE = re.compile(r"(?<!https://)listening on 127\.0\.0\.1:(\d+)")
    CONSOLE_RE = re.compile(r"console: listening on https://127\.0\.0\.1:(\d+)")

    def __init__(self, root, pki, extra_yaml=""):
        for path in (CCCD, CCC):
            if not os.access(path, os.X_OK):
                raise RuntimeError("%s is not built (make)" % path)
        self.root = root
        self.pki = pki
        self.dir = os.path.join(root, "broker")
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "cccd.yaml")
        self.registry = os.path.join(self.dir, "registry.yaml")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "cccd.log")
        self.port = 0               # the broker's port
        self.console_port = 0       # the console's
        self.proc = None
        self.starts = 0
        self.pinned = False         # the config names the ports
        shutil.copy(REGISTRY, self.registry)
        self._write_config(extra_yaml)

    def _write_config(self, extra_yaml):
        p = self.pki.file
        self.extra = extra_yaml
        with open(self.config, "w") as f:
            f.write("# written by the console's browser tests\n"
                    "listen: 127.0.0.1:%d\n"
                    "tls:\n"
                    "  cert: \"%s\"\n"
                    "  key: \"%s\"\n"
                    "  ca:\n    - \"%s\"\n"
                    "  crl: \"%s\"\n"
                    "registry: \"%s\"\n"
                    "data_dir: \"%s\"\n"
                    "log_level: debug\n"
                    "metrics:\n  listen: 127.0.0.1:0\n"
                    "console:\n  listen: 127.0.0.1:%d\n%s"
                    % (self.port, p("cccd.pem"), p("cccd.key"), p("ca.pem"),
                       p("crl.pem"), self.registry, self.data,
                       self.console_port, extra_yaml))

    def url(self, path="/"):
        return "https://127.0.0.1:%d%s" % (self.console_port, path)

    def log_text(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _ports(self):
        text = self.log_text()
        b, c = self.LISTEN_RE.search(text), self.CONSOLE_RE.search(text)
        return (int(b.group(1)), int(c.group(1))) if b and c else None

    def start(self):
        """Start cccd; wait until it logs both of its ports."""
        assert self.proc is None, "the broker runs already"
        if os.path.exists(self.log):    # the ports are read from a new log
            os.rename(self.log, "%s.%d" % (self.log, self.starts))
        self.starts += 1
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [CCCD, "--config", self.config], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent)
        self._cleanup = on_exit(self.kill)
        ports = wait_for(lambda: self.proc.poll() is None and self._ports()
                         or self.proc.poll() is not None, START_S)
        if not isinstance(ports, tuple) or self.proc.poll() is not None:
            self.kill()
            raise RuntimeError("cccd did not start (its log follows):\n" +
                               self.log_text())
        self.port, self.console_port = ports
        if not self.pinned:
            self._write_config(self.extra)     # the same ports next time
            self.pinned = True
        return self

    def stop(self):
        """SIGTERM, and wait for a clean exit (status 0)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            rc = self.proc.wait(STOP_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError("cccd did not exit within %d s of SIGTERM" %
                               STOP_S)
        self.proc = None
        forget(self._cleanup)
        if rc != 0:
            raise RuntimeError("cccd exited with status %d:\n%s" %
                               (rc, self.log_text()))

    def kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_S)
        self.proc = None
        forget(self._cleanup)

    def ccc(self, endpoint, *args, timeout=30):
        """Run build/ccc as ENDPOINT against this broker; CompletedProcess."""
        p = self.pki.file
        cmd = [CCC, "--server", "127.0.0.1:%d" % self.port,
               "--cert", p(endpoint + ".pem"), "--key", p(endpoint + ".key"),
               "--ca", p("ca.pem"), "--timeout", "10"] + list(args)
        return subprocess.run(cmd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)

    def publish(self, endpoint, category, severity, section, summary,
                handling="h0", **flags):
        """Publish one alert with `ccc publish` as ENDPOINT; its id once the
        broker confirmed it. flags: more ccc publish flags, by name with
        "_" for "-" (recipient=[...] for one flag a value)."""
        args = ["publish", "--category", category, "--severity", severity,
                "--section", section, "--summary", summary,
                "--handling", handling]
        for name, value in flags.items():
            for v in value if isinstance(value, (list, tuple)) else [value]:
                args += ["--" + name.replace("_", "-"), str(v)]
        r = self.ccc(endpoint, *args)
        if r.returncode != 0:
            raise AssertionError("ccc publish failed (%d): %s" %
                                 (r.returncode, r.stderr.decode()))
        return r.stdout.decode().split()[-1]

    def audit(self, event, alert=None, endpoint=None, detail=None,
              fingerprint=None):
        """Records of EVENT in the broker's journal (its store, read only),
        of ALERT, ENDPOINT, DETAIL (an SQL LIKE pattern) and FINGERPRINT
        when given."""
        sql = "SELECT count(*) FROM audit WHERE event = ?"
        args = [event]
        for col, val in (("alert", alert), ("endpoint", endpoint),
                         ("detail", detail), ("fingerprint", fingerprint)):
            if val is not None:
                sql += " AND %s %s ?" % (col, "LIKE" if col == "detail"
                                         else "=")
                args.append(val)
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data,
                                                               "ccc.db"),
                             uri=True, timeout=5)
        try:
            return db.execute(sql, args).fetchone()[0]
        finally:
            db.close()


# ---- the browsers' policy ---------------------------------------------------

def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Policy:
    """The managed-policy file that selects this run's client certificate
    for https://127.0.0.1:PORT without asking; removed at exit."""

    def __init__(self, ca_name, port):
        check_can_run()
        self._remove_stale()
        self.path = os.path.join(POLICY_DIR, "%s%d-%s.json" % (
            POLICY_PREFIX, os.getpid(), secrets.token_hex(4)))
        rule = {"pattern": "https://127.0.0.1:%d" % port,
                "filter": {"ISSUER": {"CN": ca_name}}}
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"AutoSelectCertificateForUrls": [json.dumps(rule)]}, f)
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.path)
        self._cleanup = on_exit(self.remove)

    @staticmethod
    def _remove_stale():
        """Files of runs killed before they could remove theirs."""
        for name in os.listdir(POLICY_DIR):
            m = re.fullmatch(re.escape(POLICY_PREFIX) +
                             r"(\d+)-[0-9a-f]+\.json(\.tmp)?", name)
            if m and not _pid_alive(int(m.group(1))):
                try:
                    os.unlink(os.path.join(POLICY_DIR, name))
                except FileNotFoundError:
                    pass

    def remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        forget(self._cleanup)


# ---- browsers ---------------------------------------------------------------

class Browser:
    """A headless Chromium (through chromedriver) whose only certificate is
    ENDPOINT's. Its HOME and profile are new directories under root."""

    count = 0

    def __init__(self, root, pki, endpoint, lang=None):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        Browser.count += 1
        self.endpoint = endpoint
        self.dir = os.path.join(root, "browser%d-%s" % (Browser.count,
                                                       endpoint))
        self.home = os.path.join(self.dir, "home")
        nssdb = os.path.join(self.home, ".pki", "nssdb")
        os.makedirs(nssdb, mode=0o700)
        db = "sql:" + nssdb
        for cmd in (["certutil", "-N", "-d", db, "--empty-password"],
                    ["certutil", "-A", "-d", db, "-n", pki.ca_name,
                     "-t", "C,,", "-i", pki.ca],
                    ["pk12util", "-i", pki.file(endpoint + ".p12"), "-d", db,
                     "-W", P12_PASS]):
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
            if r.returncode != 0:
                raise RuntimeError("%s failed: %s" % (" ".join(cmd[:2]),
                                                      r.stdout.decode()))
        opts = webdriver.ChromeOptions()
        opts.binary_location = self._launcher()
        for flag in CHROMIUM_FLAGS:
            opts.add_argument(flag)
        opts.add_argument("--user-data-dir=" + os.path.join(self.dir,
                                                            "profile"))
        env = dict(os.environ, HOME=self.home)
        if lang is not None:
            opts.add_argument("--lang=" + lang)
            opts.add_experimental_option("prefs",
                                         {"intl.accept_languages": lang})
            env["LANGUAGE"] = lang
        # chromedriver dies with this process, however it dies
        service = Service(CHROMEDRIVER, env=env,
                          log_path=os.path.join(self.dir, "chromedriver.log"),
                          popen_kw={"preexec_fn": _die_with_parent})
        self.driver = None
        # a signal during the start stops chromedriver (and so Chromium)
        starting = on_exit(service.stop)
        self.driver = webdriver.Chrome(service=service, options=opts)
        forget(starting)
        self._cleanup = on_exit(self.quit)
        self.driver.set_page_load_timeout(START_S)
        self.driver.set_script_timeout(START_S)
        # the viewport exactly WIDTH x HEIGHT, for the screenshots
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1,
            "mobile": False})

    def _launcher(self):
        """Chromium as chromedriver's child that dies with it (setpriv
        --pdeathsig), so that a test run killed outright, whose chromedriver
        dies with it, leaves no browser behind; Chromium's helpers end
        with it. CHROMIUM itself where setpriv is missing."""
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            return CHROMIUM
        path = os.path.join(self.dir, "chromium")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexec %s --pdeathsig KILL %s \"$@\"\n" %
                    (setpriv, CHROMIUM))
        os.chmod(path, 0o755)
        return path

    def quit(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            finally:
                self.driver = None
                forget(self._cleanup)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, what, seconds=5, step=0.02, message=None):
        """what()'s first true value within seconds, else AssertionError."""
        v = wait_for(what, seconds, step)
        if not v:
            raise AssertionError(message or "timed out after %.1f s" %
                                 seconds)
        return v

    def offline(self, on):
        """Cut the page off the network (Chromium's emulation) or not."""
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": bool(on), "latency": 0, "downloadThroughput": -1,
            "uploadThroughput": -1})

    def shot(self, directory, name):
        """A PNG of the viewport as DIRECTORY/NAME.png; its path."""
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name + ".png")
        self.driver.save_screenshot(path)
        return path


# ---- the mechanism alone ----------------------------------------------------

def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def probe():
    """Chromium fetches a file from openssl s_server -Verify 1, presenting
    its certificate without a prompt; prints what the server saw."""
    check_can_run()
    root = tempfile.mkdtemp(prefix="ccc-console-probe.")
    on_exit(lambda: remove_tree(root))
    pki = Pki(os.path.join(root, "pki"))
    www = os.path.join(root, "www")
    os.makedirs(www)
    with open(os.path.join(www, "probe.txt"), "w") as f:
        f.write("the certificate was accepted\n")
    port = _free_port()
    log = os.path.join(root, "s_server.log")
    with open(log, "w") as out:
        srv = subprocess.Popen(
            ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
             "-cert", pki.file("cccd.pem"), "-key", pki.file("cccd.key"),
             "-CAfile", pki.ca, "-Verify", "1", "-WWW"], cwd=www,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
    on_exit(lambda: (srv.poll() is None and srv.kill(), srv.wait(STOP_S)))
    Policy(pki.ca_name, port)
    t0 = time.monotonic()
    b = Browser(root, pki, "tr-police")
    t1 = time.monotonic()
    b.driver.get("https://127.0.0.1:%d/probe.txt" % port)
    body = b.driver.find_element("tag name", "body").text
    t2 = time.monotonic()
    b.quit()
    print("browser started in %.2f s, page fetched in %.2f s" %
          (t1 - t0, t2 - t1))
    print("page: %r" % body)
    with open(log) as f:
        seen = [ln.strip() for ln in f if "CN" in ln or "FILE" in ln]
    print("s_server: " + "; ".join(seen))
    ok = "accepted" in body and any("CN = tr-police" in s for s in seen)
    print("probe: " + ("OK, the client certificate was presented"
                       if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["probe"]:
        try:
            sys.exit(probe())
        except Skip as e:
            print("probe: not run: %s" % e)
            sys.exit(77)
    print("usage: python3 harness.py probe", file=sys.stderr)
    sys.exit(64)

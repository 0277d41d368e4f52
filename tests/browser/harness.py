"""What the browser tests share (tests/browser/README in docs/console.md#browser-tests): the
real sonde-console on a copy of the seeded data directory, a free loopback port and the test
certificate; headless Chromium through chromedriver (Debian's chromium, chromium-driver and
python3-selenium); an HTTPS client that reuses the browser's session cookie."""
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SKIP = 77  # ctest SKIP_RETURN_CODE


def run(argv, log):
    with open(log, "w") as out:
        rc = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT, timeout=600)
    if rc != 0:
        with open(log) as f:
            sys.stderr.write(f.read()[-4000:])
        raise SystemExit(f"failed ({rc}): {' '.join(argv)} (log {log})")


def make_certificate(out):
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", os.path.join(out, "tls.key"), "-out", os.path.join(out, "tls.crt"),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        os.path.join(out, "openssl.log"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    """A sonde-console with its own configuration over DATA; certificate and key in SEED."""

    def __init__(self, binary, seed, data, extra=""):
        self.binary, self.data = binary, data
        self.dir = os.path.dirname(os.path.abspath(data))
        self.port = free_port()
        self.config = os.path.join(self.dir, "console-%d.conf" % self.port)
        self.log = self.config + ".log"
        with open(self.config, "w") as f:
            f.write(f"listen = 127.0.0.1:{self.port}\n"
                    f"port_file = {self.dir}/port-{self.port}\n"
                    f"public_url = https://127.0.0.1:{self.port}\n"
                    f"tls_certificate = {seed}/tls.crt\ntls_private_key = {seed}/tls.key\n"
                    f"data_dir = {data}\nmin_free_bytes = 0\n" + extra)
            if "console_key" not in extra:
                f.write(f"console_key = {seed}/snapshots/keys/console.key\n")
        self.proc = None

    def cli(self, args):
        r = subprocess.run([self.binary] + args + ["--config", self.config],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise SystemExit(f"sonde-console {' '.join(args)}: {r.returncode}\n{r.stderr}")
        return r.stdout

    def start(self):
        port_file = f"{self.dir}/port-{self.port}"
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.proc = subprocess.Popen([self.binary, "serve", "--config", self.config],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "a"))
        deadline = time.monotonic() + 60  # hang guard
        while time.monotonic() < deadline:
            if os.path.exists(port_file) and open(port_file).read().endswith("\n"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("sonde-console did not start:\n" + open(self.log).read()[-3000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self.proc = None

    def url(self, path):
        return f"https://127.0.0.1:{self.port}{path}"

    def db(self):
        return sqlite3.connect(f"file:{self.data}/figures.sqlite?mode=ro", uri=True)

    def wait_applied(self, count):
        applied = 0
        deadline = time.monotonic() + 240  # hang guard
        while time.monotonic() < deadline:
            try:
                with self.db() as db:
                    applied = db.execute(
                        "SELECT COUNT(*) FROM snapshots WHERE status = 'applied'").fetchone()[0]
            except sqlite3.Error:
                applied = 0
            if applied >= count:
                break
            time.sleep(0.2)
        return applied


def browser_available():
    """None if Chromium, chromedriver, selenium (and weasyprint and pdftotext, for the PDF
    exports) are there; otherwise what is missing."""
    missing = [b for b in ("chromium", "chromedriver", "weasyprint", "pdftotext")
               if not shutil.which(b)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python3-selenium")
    return ", ".join(missing) or None


def require_browser():
    missing = browser_available()
    if not missing:
        return
    if os.environ.get("SONDE_REQUIRE_BROWSER") == "1":
        raise SystemExit(f"SONDE_REQUIRE_BROWSER=1 and missing: {missing}")
    print(f"SKIP: missing {missing} (scripts/deps.sh installs them)")
    sys.exit(SKIP)


def chromium(download_dir, width=1280, height=900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              # The test certificate is self-signed: accepted for this browser only.
              "--ignore-certificate-errors", f"--window-size={width},{height}",
              "--lang=fr-FR", "--no-first-run", "--disable-extensions"):
        options.add_argument(a)
    options.add_experimental_option("prefs", {
        "download.default_directory": download_dir, "download.prompt_for_download": False,
        "safebrowsing.enabled": False})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(120)  # hang guard
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": download_dir})
    return driver


class Http:
    """An HTTPS client with a session cookie taken from the browser (the same session)."""

    def __init__(self, cafile, cookie=None):
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.ctx.check_hostname = False  # the certificate names 127.0.0.1 as an IP address
        self.cookie = cookie

    def get(self, url):
        req = urllib.request.Request(url)
        if self.cookie:
            req.add_header("Cookie", self.cookie)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=self.ctx),
                                             NoRedirect)
        try:
            with opener.open(req, timeout=120) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def json(self, url):
        status, body, _ = self.get(url)
        if status != 200:
            raise AssertionError(f"{url}: {status} {body[:200]!r}")
        return json.loads(body)


def workdir(name):
    base = os.environ.get("SONDE_BROWSER_WORK") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=f"sonde-browser-{name}-", dir=base)

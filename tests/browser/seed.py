#!/usr/bin/env python3
"""The browser tests' fixture (ctest browser:seed): a simulated fortnight of several
establishments replayed by the shim through the real libsonde.so (checked against its oracle),
its spool uploaded over HTTPS by `sonde-ctl upload` to a real sonde-console, which applies it
to its SQLite database. What it leaves in OUT (each browser test copies it, starts its own
console on the copy and never writes here):

  OUT/template/          the console's data directory once every file is applied
                         (figures.sqlite: figures, establishments, the collectivité)
  OUT/tls.crt, tls.key   the test certificate (127.0.0.1), console.key
  OUT/report.json        the shim's report: its oracle's hour connections per base
  OUT/seed.json          the establishments, the collectivité and the simulated days

usage: seed.py --shim SHIM --lib LIBSONDE --ctl SONDE_CTL --console SONDE_CONSOLE --out OUT
"""
import argparse
import datetime
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# Four establishments of one département, one of them overseas (read in its own local days
# and hours, docs/console.md#periods), and one of another collectivité sharing the service.
ESTABLISHMENTS = [
    # uai, name, commune, time zone, collectivité
    ("0310001A", "Collège Jean Jaurès", "Toulouse", "Europe/Paris", "D031"),
    ("0310002B", "Lycée Pierre de Fermat", "Toulouse", "Europe/Paris", "D031"),
    ("0310003C", "Collège Les Tilleuls", "Muret", "Europe/Paris", "D031"),
    ("0310004D", "Lycée Leconte de Lisle", "Saint-Denis", "Indian/Reunion", "D031"),
    ("0310005E", "Collège du Lac", "Annecy", "Europe/Paris", "D074"),
]
DAYS = 10


def main():
    p = argparse.ArgumentParser()
    for a in ("--shim", "--lib", "--ctl", "--console", "--out"):
        p.add_argument(a, required=True)
    a = p.parse_args()
    harness.require_browser()  # without a browser, nothing to seed for
    out = a.out
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    # The simulated days end yesterday (UTC): the pages' periods are computed from today, so
    # "dernier jour", "mois en cours" and the series read these days as a person would.
    today = datetime.datetime.now(datetime.timezone.utc).date()
    start = today - datetime.timedelta(days=DAYS)
    snap = os.path.join(out, "snapshots")
    zones = ",".join(e[3] for e in ESTABLISHMENTS)
    # The replay reaches the real present (today's month): the library gives a zero latch only
    # at a segment's first latching (docs/snapshot.md, "Replays"), so no faketime is needed.
    harness.run([a.shim, "--lib", a.lib, "--config-dir", os.path.join(out, "conf"),
                 "--shm-dir", os.path.join(out, "shm"), "--bases", str(len(ESTABLISHMENTS)),
                 "--processes", "1", "--students", "120", "--days", str(DAYS),
                 "--start", start.isoformat(), "--seed", "11", "--scenario", "week",
                 "--timezones", zones, "--snapshot-interval", "240", "--check",
                 "--snapshots", snap, "--json", os.path.join(out, "report.json")],
                os.path.join(out, "shim.log"))
    harness.make_certificate(out)
    data = os.path.join(out, "template")
    os.makedirs(data)
    console = harness.Console(a.console, out, data,
                              extra="console_key = %s/keys/console.key\nrate_limit_burst = 5000\n"
                              % snap)
    tsv = os.path.join(out, "etablissements.tsv")
    with open(tsv, "w", encoding="utf-8") as f:
        f.write("# UAI\tname\tcommune\ttime zone\tcollectivité\n")
        for e in ESTABLISHMENTS:
            f.write("\t".join(e) + "\n")
    console.cli(["collectivites", "add", "D031", "Haute-Garonne"])
    console.cli(["collectivites", "add", "D074", "Haute-Savoie"])
    console.cli(["establishments", "import", tsv])
    for e in ESTABLISHMENTS:
        console.cli(["keys", "add", e[0], os.path.join(snap, "keys", e[0] + ".server.pub")])
    spool = os.path.join(snap, "spool")
    sent = len([n for n in os.listdir(spool) if n.endswith(".sonde")])
    console.start()
    try:
        harness.run([a.ctl, "upload", spool, "--url", console.url(""), "--ca",
                     os.path.join(out, "tls.crt")], os.path.join(out, "upload.log"))
        applied = console.wait_applied(sent)
    finally:
        console.stop()
    if applied != sent:
        sys.exit(f"seed: the console applied {applied} of {sent} files")
    with open(os.path.join(out, "seed.json"), "w", encoding="utf-8") as f:
        json.dump({"establishments": [dict(zip(("uai", "name", "commune", "zone", "collectivite"),
                                               e)) for e in ESTABLISHMENTS],
                   "first_day": start.isoformat(), "days": DAYS, "files": sent}, f, indent=1)
    print(f"seed: {DAYS} days of {len(ESTABLISHMENTS)} establishments, {sent} snapshots applied")


if __name__ == "__main__":
    main()

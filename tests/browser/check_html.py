#!/usr/bin/env python3
"""The HTML report in a real headless browser (Debian's chromium): it loads with no console error,
its charts render (SVG present, with drawn paths), the route table sorts, and a screenshot is
written for people to look at.

    python3 tests/browser/check_html.py CLI OUT_DIR [FIXTURE]

CLI is the built apigw-doctor; OUT_DIR (under target/ or $CARGO_TARGET_DIR) receives report.html,
report.png and the browser's log. Stdlib only.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--hide-scrollbars"]


def browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("check_html: no chromium on PATH (make browser installs Debian's chromium)")


def chromium(args, profile, timeout=120):
    cmd = [browser(), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def main():
    cli, out_dir = sys.argv[1], sys.argv[2]
    fixture = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "tests/fixtures/cli/aws-logs.json.gz")
    os.makedirs(out_dir, exist_ok=True)
    html_path = os.path.abspath(os.path.join(out_dir, "report.html"))
    with open(html_path, "wb") as f:
        subprocess.run([cli, "analyze", "--format", "html", fixture], stdout=f, check=True)

    # A harness page loads the report in an iframe, clicks the route table's "Timeout %" header and
    # writes what it saw into the DOM: what --dump-dom prints after the scripts ran.
    harness = os.path.abspath(os.path.join(out_dir, "harness.html"))
    with open(harness, "w") as f:
        f.write("""<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="r" src="report.html" style="width:1200px;height:800px"></iframe>
<script>
document.getElementById("r").addEventListener("load", function () {
  var d = this.contentDocument, out = [];
  var svgs = d.querySelectorAll("svg");
  out.push("svgs=" + svgs.length);
  var drawn = 0;
  svgs.forEach(function (s) { if (s.querySelectorAll("polyline, path, line, rect").length > 3) drawn++; });
  out.push("drawn=" + drawn);
  var rows = d.querySelectorAll("#routes-table tbody tr");
  out.push("rows=" + rows.length);
  var th = d.querySelectorAll("#routes-table th")[2];
  th.click(); th.click();
  out.push("sorted=" + d.querySelectorAll("#routes-table tbody tr")[0].cells[0].textContent);
  document.getElementById("result").textContent = out.join(" ");
});
</script></body></html>""")

    with tempfile.TemporaryDirectory() as profile:
        run = chromium(["--allow-file-access-from-files", "--virtual-time-budget=5000", "--dump-dom",
                        "file://" + harness], profile)
    with open(os.path.join(out_dir, "browser.log"), "w") as f:
        f.write(run.stderr)
    m = re.search(r'<pre id="result">([^<]*)</pre>', run.stdout)
    result = m.group(1) if m else "no result"
    print("check_html:", result)
    fields = dict(kv.split("=", 1) for kv in result.split() if "=" in kv)
    errors = [l for l in run.stderr.splitlines() if "CONSOLE" in l and ("rror" in l or "Uncaught" in l)]
    # The report alone, too: its own console (a CSP violation would show here).
    with tempfile.TemporaryDirectory() as profile:
        shot = os.path.abspath(os.path.join(out_dir, "report.png"))
        alone = chromium(["--window-size=1280,2600", f"--screenshot={shot}", "file://" + html_path], profile)
    errors += [l for l in alone.stderr.splitlines()
               if "CONSOLE" in l or "Refused to" in l or "Content Security Policy" in l]
    failures = []
    if errors:
        failures.append("console errors:\n  " + "\n  ".join(errors))
    if int(fields.get("svgs", 0)) < 2 or int(fields.get("drawn", 0)) < 2:
        failures.append(f"charts did not render: {result}")
    if int(fields.get("rows", 0)) < 1:
        failures.append(f"route table empty: {result}")
    if fields.get("sorted", "") == "":
        failures.append(f"route table did not sort: {result}")
    if not os.path.exists(shot) or os.path.getsize(shot) < 10_000:
        failures.append("no screenshot")
    if failures:
        sys.exit("check_html: FAILED\n" + "\n".join(failures))
    print(f"check_html: ok; screenshot {shot}")


if __name__ == "__main__":
    main()

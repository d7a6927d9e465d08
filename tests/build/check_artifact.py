#!/usr/bin/env python3
"""The deployable zip holds one aarch64 ELF executable named `bootstrap` (provided.al2023 on Graviton).
Prints `N passed, N failed` last."""
import stat
import sys
import zipfile

path = sys.argv[1] if len(sys.argv) > 1 else "target/lambda/bootstrap/bootstrap.zip"
failures = []
try:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        if names != ["bootstrap"]:
            failures.append(f"expected exactly ['bootstrap'], found {names}")
        else:
            info = z.getinfo("bootstrap")
            data = z.read("bootstrap")
            if data[:4] != b"\x7fELF":
                failures.append("bootstrap is not an ELF file")
            elif data[4] != 2:
                failures.append("bootstrap is not a 64-bit ELF")
            elif int.from_bytes(data[18:20], "little") != 183:  # EM_AARCH64
                failures.append(f"bootstrap is for machine {int.from_bytes(data[18:20], 'little')}, not aarch64 (183)")
            mode = info.external_attr >> 16
            if mode and not mode & stat.S_IXUSR:
                failures.append("bootstrap is not executable in the zip")
            print(f"{path}: bootstrap, {len(data):,} bytes, aarch64 ELF")
except (OSError, zipfile.BadZipFile) as e:
    failures.append(str(e))
for f in failures:
    print(f"FAIL {f}")
print(f"artifact: {1 if not failures else 0} passed, {1 if failures else 0} failed")
sys.exit(1 if failures else 0)

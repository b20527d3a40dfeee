#!/usr/bin/env python3
"""Fails unless the workspace's rust-version is at least every dependency's and every crate of
the workspace declares it (inherits it), so an older toolchain is told plainly what it needs."""
import json
import subprocess
import sys


def version(text):
    return tuple(int(part) for part in text.split("."))


metadata = json.loads(subprocess.run(
    ["cargo", "metadata", "--format-version", "1", "--locked"], check=True, capture_output=True, text=True
).stdout)
members = set(metadata["workspace_members"])
ours = [p for p in metadata["packages"] if p["id"] in members]
theirs = [p for p in metadata["packages"] if p["id"] not in members and p.get("rust_version")]
problems = []
declared = {p["rust_version"] for p in ours}
undeclared = [p["name"] for p in ours if not p.get("rust_version")]
if undeclared:
    problems.append(f"crates without rust-version: {', '.join(undeclared)}")
if len(declared - {None}) > 1:
    problems.append(f"crates declare different rust-versions: {sorted(declared - {None})}")
if declared - {None}:
    ours_version = max(declared - {None}, key=version)
    needed = max(theirs, key=lambda p: version(p["rust_version"]))
    if version(needed["rust_version"]) > version(ours_version):
        problems.append(
            f"rust-version {ours_version} is below {needed['name']}'s {needed['rust_version']}"
        )
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"rust-version {ours_version}: every crate, and no dependency needs more")

"""The Debian package, as a user gets it (README "Installing").

1. `cpack -G DEB` in the build tree makes strain_VERSION_ARCH.deb; its control file names the
   package, its version, and Depends on the libraries the binaries link (dpkg-shlibdeps).
2. Unpacked into a temporary root: `strain --version` names the version and commit of this build;
   `strain demo` runs from there, with the source and build trees hidden (bind-mounted over with
   empty directories in a private mount namespace, when root can make one), and its result says
   the built-in target served as many requests as strain counted; the man page renders with a
   section per command and the exit codes; the bash completion completes commands and flags.
3. With STRAIN_PACKAGE_INSTALL=1 (CI, as root): `apt-get install ./strain_*.deb` installs it,
   `strain demo` runs from /usr/bin, `man strain` finds the page, and `apt-get remove` leaves none
   of the package's files behind.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import check, finish

STRAIN = os.environ["STRAIN"]
BUILD = os.environ["STRAIN_BUILD_DIR"]
SOURCE = os.environ["STRAIN_SOURCE_DIR"]


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def demo_ok(strain, tmp, label, wrap=()):
    """`strain demo` for 2 s: exit 0, and strain-target's own count reconciles with strain's."""
    p = run([*wrap, strain, "demo", "-d", "2s", "-c", "4", "-q"], cwd=tmp)
    check(p.returncode == 0, f"{label}: strain demo exits 0 (got {p.returncode}; {p.stderr[-300:]!r})")
    line = next((l for l in p.stdout.splitlines() if "strain-target says it served" in l), "")
    print(f"{label}: {line.strip()}")
    served = re.search(r"served (\d+) requests; strain counted (\d+) responses", line)
    check(served is not None and int(served.group(1)) > 100
          and "the counts reconcile" in line,
          f"{label}: the built-in target served real traffic and the counts reconcile")


with tempfile.TemporaryDirectory() as tmp:
    # --- 1. the package ------------------------------------------------------------------
    for old in glob.glob(os.path.join(BUILD, "strain_*.deb")):
        os.remove(old)
    p = run(["cpack", "-G", "DEB"], cwd=BUILD, timeout=300)
    debs = glob.glob(os.path.join(BUILD, "strain_*.deb"))
    check(p.returncode == 0 and len(debs) == 1, f"cpack made one .deb ({debs}; {p.stderr[-300:]!r})")
    if not debs:
        finish()
        sys.exit(1)
    deb = debs[0]
    info = run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends"]).stdout
    print(info.strip())
    version = run([STRAIN, "--version"]).stdout.strip()
    check("Package: strain" in info, "the package is named strain")
    check(version.split()[1] in info, f"its version is the build's ({version})")
    for lib in ("libcurl4", "liblua5.4-0", "libssl3", "libnghttp2-14", "libstdc++6"):
        check(lib in info, f"Depends names {lib}")

    # --- 2. unpacked ---------------------------------------------------------------------
    root = os.path.join(tmp, "root")
    check(run(["dpkg-deb", "-x", deb, root]).returncode == 0, "dpkg-deb -x unpacks it")
    strain = os.path.join(root, "usr", "bin", "strain")
    files = run(["dpkg-deb", "-c", deb]).stdout
    for path in ("./usr/bin/strain", "./usr/bin/strain-target",
                 "./usr/share/man/man1/strain.1.gz", "./usr/share/bash-completion/completions/strain",
                 "./usr/share/doc/strain/prelude.lua", "./usr/share/doc/strain/examples/hello.lua"):
        check(path in files, f"the package holds {path}")
    got = run([strain, "--version"]).stdout.strip()
    check(got == version, f"the packaged strain says {got!r}, as the build's")
    commit = run(["git", "-C", SOURCE, "rev-parse", "--short=12", "HEAD"]).stdout.strip()
    check(commit and commit in got, f"--version names the commit {commit}")

    # The source and build trees hidden: nothing installed may need them.
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    # The build tree first: it may lie inside the source tree, which hides it too.
    hide = (f"mount --bind {empty} {BUILD} && mount --bind {empty} {SOURCE} && "
            f"test ! -e {SOURCE}/CMakeLists.txt && exec \"$@\"")
    probe = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", hide, "sh", "true"])
    if probe.returncode == 0:
        demo_ok(strain, tmp, "unpacked, source and build hidden",
                wrap=("unshare", "--mount", "--propagation", "private", "sh", "-c", hide, "sh"))
    else:
        print(f"note: cannot hide the trees here ({probe.stderr.strip()[:120]}); demo run as is")
        demo_ok(strain, tmp, "unpacked")

    man = run(["man", "-l", "-P", "cat", os.path.join(root, "usr/share/man/man1/strain.1.gz")],
              env={**os.environ, "MANWIDTH": "100", "LC_ALL": "C.UTF-8"})
    text = man.stdout
    check(man.returncode == 0 and "strain - load, stress and soak testing" in text,
          f"the man page renders with its name line ({man.stderr[-200:]!r})")
    for want in ("strain run", "strain soak", "strain stress", "strain merge", "EXIT STATUS",
                 "--url", "generator-bound"):
        check(want in text, f"the man page has {want!r}")
    check(SOURCE not in text and BUILD not in text, "the man page names no build path")

    comp = os.path.join(root, "usr/share/bash-completion/completions/strain")
    def complete(*words):
        script = (f"source {comp}; COMP_WORDS=({' '.join(words)}); "
                  f"COMP_CWORD={len(words) - 1}; _strain; echo \"${{COMPREPLY[*]}}\"")
        return run(["bash", "-c", script]).stdout.split()
    check(complete("strain", "so") == ["soak"], f"completion: 'strain so' -> soak ({complete('strain', 'so')})")
    check("--url" in complete("strain", "run", "--u"), "completion: 'strain run --u' offers --url")
    check("--watch-pid" in complete("strain", "soak", "--watch-p"), "completion: soak's own flags")
    check("completion" not in complete("strain", ""), "completion: the hidden command is not offered")

    # --- 3. installed with apt ---------------------------------------------------------------
    if os.environ.get("STRAIN_PACKAGE_INSTALL") == "1" and os.geteuid() == 0:
        before = run(["dpkg-query", "-W", "strain"])
        check(before.returncode != 0, "strain is not installed before the test")
        local = os.path.join(tmp, os.path.basename(deb))
        shutil.copy(deb, local)
        os.chmod(tmp, 0o755)  # apt's sandbox user reads the file
        os.chmod(local, 0o644)
        inst = run(["apt-get", "install", "-y", "-qq", local], timeout=300,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        check(inst.returncode == 0, f"apt-get install ./{os.path.basename(deb)} ({inst.stderr[-300:]!r})")
        listed = [l for l in run(["dpkg-query", "-L", "strain"]).stdout.splitlines()
                  if os.path.isfile(l)]
        try:
            demo_ok("/usr/bin/strain", tmp, "installed")
            page = run(["man", "-w", "strain"]).stdout.strip()
            check(page == "/usr/share/man/man1/strain.1.gz", f"man finds the page ({page!r})")
        finally:
            rm = run(["apt-get", "remove", "-y", "-qq", "strain"], timeout=300,
                     env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        check(rm.returncode == 0, "apt-get remove strain")
        left = [f for f in listed if os.path.exists(f)]
        check(len(listed) > 5 and not left, f"remove leaves none of its {len(listed)} files ({left[:5]})")
        # No conffiles: remove leaves no "rc" entry for purge to clear (purged anyway).
        status = run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "strain"]).stdout.strip()
        check(status in ("", "un"), f"dpkg keeps no record of strain after remove ({status!r})")
        run(["apt-get", "purge", "-y", "-qq", "strain"], timeout=300,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    else:
        print("note: apt install/purge skipped (set STRAIN_PACKAGE_INSTALL=1, as root; CI does)")

finish()

"""Python ftplib against an FTP server: the scenarios of tests/tests/server_interop.rs.

Usage: ftplib_scenario.py SCENARIO HOST PORT USER PASSWORD MODE WORKDIR
SCENARIO: session | abort | escapes | concurrent
MODE: passive | active
Prints what it checked; exits non-zero on the first failure.
"""
import ftplib
import hashlib
import io
import os
import sys
import threading


def sha(data):
    return hashlib.sha256(data).hexdigest()


def connect(host, port, user, password, passive, anonymous=False):
    ftp = ftplib.FTP()
    ftp.connect(host, port, timeout=60)
    if anonymous:
        ftp.login()
    else:
        ftp.login(user, password)
    ftp.set_pasv(passive)
    return ftp


def retr(ftp, path, rest=None):
    out = io.BytesIO()
    ftp.retrbinary("RETR " + path, out.write, rest=rest)
    return out.getvalue()


def expect_error(code, fn, *args):
    try:
        fn(*args)
    except ftplib.Error as e:
        if not str(e).startswith(code):
            raise AssertionError("expected %s, got %s" % (code, e))
        return
    raise AssertionError("expected %s, got success" % code)


def session(host, port, user, password, passive, workdir):
    small = open(os.path.join(workdir, "small.bin"), "rb").read()
    large_path = os.path.join(workdir, "large.bin")

    # Anonymous: list and download, no writes.
    ftp = connect(host, port, user, password, passive, anonymous=True)
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert any(line.endswith(" small.bin") for line in lines), lines
    assert sha(retr(ftp, "small.bin")) == sha(small)
    expect_error("550", ftp.storbinary, "STOR nope.bin", io.BytesIO(b"x"))
    ftp.quit()
    print("anonymous ok")

    ftp = connect(host, port, user, password, passive)
    ftp.voidcmd("TYPE I")
    # Listings: LIST, NLST, MLSD.
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert any(line.startswith("-rw") and line.endswith(" small.bin") for line in lines), lines
    names = ftp.nlst()
    assert "small.bin" in names and "dir" in names, names
    facts = dict(ftp.mlsd())
    assert facts["small.bin"]["type"] == "file", facts
    assert int(facts["small.bin"]["size"]) == len(small), facts
    assert facts["dir"]["type"] == "dir", facts
    print("listings ok")

    # Small and large uploads, downloaded back.
    ftp.storbinary("STOR up-small.bin", io.BytesIO(small))
    assert sha(retr(ftp, "up-small.bin")) == sha(small)
    assert ftp.size("up-small.bin") == len(small)
    with open(large_path, "rb") as f:
        ftp.storbinary("STOR up-large.bin", f, blocksize=1 << 20)
    digest = hashlib.sha256()
    ftp.retrbinary("RETR up-large.bin", digest.update, blocksize=1 << 20)
    with open(large_path, "rb") as f:
        expected = hashlib.sha256()
        for chunk in iter(lambda: f.read(1 << 20), b""):
            expected.update(chunk)
    assert digest.hexdigest() == expected.hexdigest()
    print("transfers ok")

    # Resume a download, then an upload (REST).
    assert retr(ftp, "small.bin", rest=1000) == small[1000:]
    ftp.storbinary("STOR resumed.bin", io.BytesIO(small[:5000]))
    ftp.storbinary("STOR resumed.bin", io.BytesIO(small[5000:]), rest=5000)
    assert sha(retr(ftp, "resumed.bin")) == sha(small)
    print("resume ok")

    # Directories, rename, delete.
    assert ftp.mkd("newdir") == "/newdir"
    ftp.cwd("newdir")
    assert ftp.pwd() == "/newdir"
    ftp.cwd("..")
    ftp.rename("up-small.bin", "newdir/moved.bin")
    assert "moved.bin" in ftp.nlst("newdir") or "newdir/moved.bin" in ftp.nlst("newdir")
    ftp.delete("newdir/moved.bin")
    ftp.rmd("newdir")
    expect_error("550", ftp.cwd, "newdir")
    ftp.delete("resumed.bin")
    ftp.delete("up-large.bin")
    ftp.quit()
    print("files ok")


def abort(host, port, user, password, passive, workdir):
    ftp = connect(host, port, user, password, passive)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR large.bin")
    got = 0
    while got < 4 << 20:
        chunk = conn.recv(1 << 16)
        assert chunk, "data connection closed early"
        got += len(chunk)
    reply = ftp.abort()
    assert reply[:3] in ("426", "225", "226"), reply
    if reply.startswith("426"):
        reply = ftp.getresp()
        assert reply.startswith("226"), reply
    conn.close()
    # The session goes on.
    ftp.voidcmd("NOOP")
    small = open(os.path.join(workdir, "small.bin"), "rb").read()
    assert sha(retr(ftp, "small.bin")) == sha(small)
    ftp.quit()
    print("abort ok")


def escapes(host, port, user, password, passive, workdir):
    ftp = connect(host, port, user, password, passive)
    ftp.voidcmd("TYPE I")
    for path in ["../secret.txt", "../../../../../../etc/passwd", "/../secret.txt", "dir/../../secret.txt",
                 "/etc/passwd", "link-out", "link-out-dir/secret.txt"]:
        expect_error("550", retr, ftp, path)
    expect_error("550", ftp.cwd, "link-out-dir")
    ftp.cwd("../../..")
    assert ftp.pwd() == "/", ftp.pwd()
    expect_error("550", ftp.storbinary, "STOR link-out-dir/planted.txt", io.BytesIO(b"x"))
    expect_error("550", ftp.mkd, "link-out-dir/planted")
    ftp.quit()
    print("escapes ok")


def concurrent(host, port, user, password, passive, workdir):
    small = open(os.path.join(workdir, "small.bin"), "rb").read()
    clients, downloads = 200, 20
    errors = []
    start = threading.Barrier(clients)

    def client(n):
        try:
            start.wait(timeout=60)
            ftp = connect(host, port, user, password, passive)
            ftp.voidcmd("TYPE I")
            for _ in range(downloads):
                assert retr(ftp, "small.bin") == small
            ftp.quit()
        except Exception as e:  # noqa: BLE001 - every failure counts
            errors.append("client %d: %r" % (n, e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:5]
    print("%d clients x %d downloads ok" % (clients, downloads))


if __name__ == "__main__":
    scenario, host, port, user, password, mode, workdir = sys.argv[1:8]
    globals()[scenario](host, int(port), user, password, mode == "passive", workdir)

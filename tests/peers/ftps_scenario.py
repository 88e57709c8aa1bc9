"""Python's ftplib.FTP_TLS against an FTPS server: the scenarios of
tests/tests/ftps_interop.rs.

Usage: ftps_scenario.py SCENARIO HOST PORT USER PASSWORD CAFILE WORKDIR
SCENARIO:
  round_trips  data connections that reuse the control connection's TLS
               session (as curl and lftp do): 20 uploads of 1 MiB, each
               downloaded back and compared, then a listing
  stock        stock FTP_TLS, whose data connections never reuse the
               session: prints "refused 522" or "accepted"
  truncated    an upload whose data connection closes without TLS
               close_notify: prints the final reply's code
Prints what it checked; exits non-zero on the first failure.
"""
import ftplib
import hashlib
import io
import os
import ssl
import sys


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's
    session, which servers that require session reuse insist on."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session
            )
        return conn, size


def connect(cls, host, port, user, password, cafile):
    context = ssl.create_default_context(cafile=cafile)
    ftp = cls(context=context, timeout=60)
    ftp.connect(host, port)
    ftp.auth()
    ftp.login(user, password)
    ftp.prot_p()
    return ftp


def retr(ftp, path):
    out = io.BytesIO()
    ftp.retrbinary("RETR " + path, out.write)
    return out.getvalue()


def round_trips(host, port, user, password, cafile, workdir):
    ftp = connect(ReusingFTP_TLS, host, port, user, password, cafile)
    version = ftp.sock.version()
    for n in range(20):
        data = os.urandom(1 << 20)
        ftp.storbinary("STOR trip.bin", io.BytesIO(data), blocksize=1 << 16)
        back = retr(ftp, "trip.bin")
        if hashlib.sha256(back).digest() != hashlib.sha256(data).digest():
            raise AssertionError("round trip %d: %d bytes back of %d" % (n, len(back), len(data)))
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert any(line.endswith(" trip.bin") for line in lines), lines
    ftp.quit()
    print("20 round trips ok over %s" % version)


def stock(host, port, user, password, cafile, workdir):
    ftp = connect(ftplib.FTP_TLS, host, port, user, password, cafile)
    try:
        data = retr(ftp, "small.bin")
    except ftplib.Error as e:
        print("refused %s" % str(e)[:3])
        return
    except (ssl.SSLError, OSError):
        # The data connection failed before the final reply was read.
        try:
            ftp.voidresp()
        except ftplib.Error as e:
            print("refused %s" % str(e)[:3])
            return
        raise
    expected = open(os.path.join(workdir, "small.bin"), "rb").read()
    assert data == expected, "%d bytes of %d" % (len(data), len(expected))
    print("accepted")


def truncated(host, port, user, password, cafile, workdir):
    ftp = connect(ReusingFTP_TLS, host, port, user, password, cafile)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("STOR keep.bin")
    conn.sendall(os.urandom(1 << 20))
    # Close the TCP connection under TLS, with no close_notify: what a
    # killed client or a cut connection looks like.
    os.close(conn.detach())
    try:
        print("final %s" % ftp.voidresp()[:3])
    except ftplib.Error as e:
        print("final %s" % str(e)[:3])


if __name__ == "__main__":
    scenario, host, port, user, password, cafile, workdir = sys.argv[1:8]
    globals()[scenario](host, int(port), user, password, cafile, workdir)

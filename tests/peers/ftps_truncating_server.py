"""A minimal explicit-FTPS server for one session whose download data
connection ends without TLS close_notify: the socket is closed under the
TLS layer, as a server that crashed or a middlebox cutting the connection
would. The control connection still says 226: only the missing
close_notify tells the client the file was cut short.

Usage: ftps_truncating_server.py CERT KEY PORT_FILE
Writes the control port to PORT_FILE once listening; serves one session.
"""

import os
import socket
import ssl
import sys

cert, key, port_file = sys.argv[1:4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)

listener = socket.create_server(("127.0.0.1", 0))
with open(port_file + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
listener.settimeout(30)
raw, _ = listener.accept()
raw.settimeout(30)
control = raw
reader = control.makefile("rb")


def reply(line):
    control.sendall((line + "\r\n").encode())


reply("220 truncating test server")
data_listener = None
while True:
    line = reader.readline()
    if not line:
        break
    verb = line.decode(errors="replace").strip().split(" ")[0].upper()
    if verb == "AUTH":
        reply("234 go ahead")
        control = context.wrap_socket(raw, server_side=True)
        reader = control.makefile("rb")
    elif verb in ("USER",):
        reply("331 password")
    elif verb in ("PASS",):
        reply("230 in")
    elif verb in ("PBSZ", "PROT", "TYPE", "OPTS"):
        reply("200 ok")
    elif verb == "FEAT":
        reply("211 no features")
    elif verb == "SIZE":
        reply("213 100000")
    elif verb == "EPSV":
        data_listener = socket.create_server(("127.0.0.1", 0))
        data_listener.settimeout(30)
        reply("229 Entering Extended Passive Mode (|||%d|)" % data_listener.getsockname()[1])
    elif verb == "RETR":
        reply("150 here it comes")
        data_raw, _ = data_listener.accept()
        data = context.wrap_socket(data_raw, server_side=True)
        data.sendall(b"x" * 100000)
        # Cut: SSLSocket.shutdown drops the TLS layer and shuts the TCP
        # socket down without a close_notify (unwrap would send one).
        data.shutdown(socket.SHUT_RDWR)
        data.close()
        reply("226 done")
    elif verb == "QUIT":
        reply("221 bye")
        break
    else:
        reply("502 not here")

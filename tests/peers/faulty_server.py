"""A pyftpdlib server whose data connections fail in the middle.

Usage: faulty_server.py ROOT PORT USER PASSWORD drop N
       faulty_server.py ROOT PORT USER PASSWORD stall
Serves ROOT on 127.0.0.1:PORT to one read-write user. Prints "ready" once
listening.

drop N: the first N downloads are cut off after 64 KiB; the data and the
control connection are closed at once, as a server that crashes or
restarts would.

stall: a download sends 64 KiB, then nothing more; an upload's data
connection is never read. The data connection stays open and the
control connection silent, as a hung server or a broken middlebox leaves
them.
"""
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer

root, port, user, password, mode = sys.argv[1:6]
drops_left = [int(sys.argv[6])] if mode == "drop" else [0]
FAIL_AFTER = 64 * 1024


class FaultyDTP(DTPHandler):
    def use_sendfile(self):
        return False

    def __init__(self, sock, cmd_channel):
        super().__init__(sock, cmd_channel)
        self.sent = 0

    def send(self, data):
        sent = super().send(data)
        self.sent += sent
        if self.sent >= FAIL_AFTER and self.receive is False:
            if mode == "stall":
                # Out of the event loop: never written to or read again.
                self.del_channel()
            elif drops_left[0] > 0:
                drops_left[0] -= 1
                channel = self.cmd_channel
                self.close()
                channel.close()
        return sent

    def enable_receiving(self, type, cmd):
        super().enable_receiving(type, cmd)
        if mode == "stall":
            self.del_channel()


logging.basicConfig(level=logging.WARNING)
authorizer = DummyAuthorizer()
authorizer.add_user(user, password, root, perm="elradfmwMT")
handler = FTPHandler
handler.authorizer = authorizer
handler.dtp_handler = FaultyDTP
handler.use_sendfile = False
if mode == "stall":
    # No timeout of its own ends what it holds open.
    FaultyDTP.timeout = 0
    handler.timeout = 0
server = FTPServer(("127.0.0.1", int(port)), handler)
print("ready", flush=True)
server.serve_forever()

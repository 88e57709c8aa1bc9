"""A pyftpdlib server whose data connections stall without closing.

Usage: stalling_server.py ROOT PORT USER PASSWORD
Serves ROOT on 127.0.0.1:PORT to one read-write user. A download sends
64 KiB, then nothing more; an upload's data connection is never read.
Either way the data connection stays open and the control connection
stays silent, as a hung server or a broken middlebox leaves them. Prints
"ready" once listening.
"""
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer

root, port, user, password = sys.argv[1:5]
STALL_AFTER = 64 * 1024


class StallingDTP(DTPHandler):
    timeout = 0

    def use_sendfile(self):
        return False

    def __init__(self, sock, cmd_channel):
        super().__init__(sock, cmd_channel)
        self.sent = 0

    def send(self, data):
        sent = super().send(data)
        self.sent += sent
        if self.sent >= STALL_AFTER and self.receive is False:
            # Out of the event loop: never written to or read again.
            self.del_channel()
        return sent

    def enable_receiving(self, type, cmd):
        super().enable_receiving(type, cmd)
        self.del_channel()


logging.basicConfig(level=logging.WARNING)
authorizer = DummyAuthorizer()
authorizer.add_user(user, password, root, perm="elradfmwMT")
handler = FTPHandler
handler.authorizer = authorizer
handler.dtp_handler = StallingDTP
handler.use_sendfile = False
handler.timeout = 0
server = FTPServer(("127.0.0.1", int(port)), handler)
print("ready", flush=True)
server.serve_forever()

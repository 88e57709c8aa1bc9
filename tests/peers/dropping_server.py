"""A pyftpdlib server that drops the connection in the middle of downloads.

Usage: dropping_server.py ROOT PORT USER PASSWORD DROPS
Serves ROOT on 127.0.0.1:PORT to one read-write user. The first DROPS
downloads are cut off after 64 KiB: the data and the control connection
are closed at once, as a server that crashes or restarts would. Prints
"ready" once listening.
"""
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer

root, port, user, password, drops = sys.argv[1:6]
left = [int(drops)]
CUT_AFTER = 64 * 1024


class DroppingDTP(DTPHandler):
    def use_sendfile(self):
        return False

    def __init__(self, sock, cmd_channel):
        super().__init__(sock, cmd_channel)
        self.sent = 0

    def send(self, data):
        sent = super().send(data)
        self.sent += sent
        if self.sent >= CUT_AFTER and left[0] > 0 and self.receive is False:
            left[0] -= 1
            channel = self.cmd_channel
            self.close()
            channel.close()
        return sent


logging.basicConfig(level=logging.WARNING)
authorizer = DummyAuthorizer()
authorizer.add_user(user, password, root, perm="elradfmwMT")
handler = FTPHandler
handler.authorizer = authorizer
handler.dtp_handler = DroppingDTP
handler.use_sendfile = False
server = FTPServer(("127.0.0.1", int(port)), handler)
print("ready", flush=True)
server.serve_forever()

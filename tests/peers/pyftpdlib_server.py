"""A pyftpdlib server for the interop tests.

Usage: pyftpdlib_server.py ROOT PORT USER PASSWORD PASV_FROM PASV_TO
Serves ROOT on 127.0.0.1:PORT to one read-write user; prints "ready" once
listening.
"""
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

root, port, user, password, low, high = sys.argv[1:7]
logging.basicConfig(level=logging.WARNING)
authorizer = DummyAuthorizer()
authorizer.add_user(user, password, root, perm="elradfmwMT")
handler = FTPHandler
handler.authorizer = authorizer
handler.passive_ports = range(int(low), int(high) + 1)
server = FTPServer(("127.0.0.1", int(port)), handler)
print("ready", flush=True)
server.serve_forever()

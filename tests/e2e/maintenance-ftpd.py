"""A tiny FTP server for tests/e2e/maintenance-*.test.js (Debian's python3-pyftpdlib).

    /usr/bin/python3 tests/e2e/maintenance-ftpd.py ROOT [USER PASSWORD]

Serves ROOT on 127.0.0.1 at a free port, user USER (default "sitegate") with
password PASSWORD (default "secret") allowed to read and write. Prints
"listening PORT" once it accepts connections, then one line per event:
"received PATH" (an upload completed), "sent PATH" (a download completed),
"incomplete PATH" (an upload broke off).
"""
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    root = sys.argv[1]
    user = sys.argv[2] if len(sys.argv) > 2 else "sitegate"
    password = sys.argv[3] if len(sys.argv) > 3 else "secret"

    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, root, perm="elradfmw")

    class Handler(FTPHandler):
        def on_file_received(self, file):
            print("received " + file, flush=True)

        def on_file_sent(self, file):
            print("sent " + file, flush=True)

        def on_incomplete_file_received(self, file):
            print("incomplete " + file, flush=True)

    Handler.authorizer = authorizer
    Handler.banner = "sitegate test ftpd"
    # pyftpdlib logs every command to stderr; the harness shows it on failure.
    server = FTPServer(("127.0.0.1", 0), Handler)
    print("listening %d" % server.address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

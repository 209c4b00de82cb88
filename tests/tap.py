# SPDX-License-Identifier: MIT
"""TAP for automake's tap-driver, the one home of it for the Python tests:
the checks of this folder (check_docs.py, check_contrib.py) and, through
integration/harness.py, the integration tests. One line per check; what
went wrong, when something did, as "#" lines under it."""
import sys


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, detail=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what))
        if not cond:
            self.failed += 1
            if detail is not None:
                for line in str(detail).splitlines()[:40]:
                    print("#   " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, what, None if got == want
                       else "got  %r\nwant %r" % (got, want))

    def skip(self, what, why):
        """A check that could not be made here, counted as passed."""
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, what, why))
        sys.stdout.flush()

    def note(self, text):
        for line in str(text).splitlines():
            print("# " + line)
        sys.stdout.flush()

    def skip_all(self, why):
        print("1..0 # SKIP " + why)
        sys.exit(0)

    def bail(self, why):
        print("Bail out! " + why)
        sys.exit(1)

    def done(self):
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)

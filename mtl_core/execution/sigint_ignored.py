"""The first import of a CLI batch's forkserver (``forkserver.IGNORE_SIGINT``): ignore SIGINT.

Why an import: the forkserver runs its preloads before anything else of ours, and the
process that started it held SIGINT blocked meanwhile (``forkserver.holding_sigint``), so
the forkserver is born with SIGINT blocked. Ignoring it here drops a Ctrl-C held since
then, and unblocking it leaves the workers forked from here a plain "ignored" SIGINT:
they leave the terminal's Ctrl-C to the batch, which stops their runs through the store.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

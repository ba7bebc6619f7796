"""The console's Ctrl-C at the prompt: a SIGINT readline did not see is sent to the main thread again."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import textwrap
import time

from dragonfly_bot.console.terminal import InterruptNudge, Prompt

SIGINT_BYTE = bytes([signal.SIGINT])


class _Showing(Prompt):
    def __init__(self, showing: bool):
        super().__init__()
        self.showing = showing


def _nudge(showing: bool) -> tuple[InterruptNudge, list[int]]:
    nudge = InterruptNudge(_Showing(showing), delay=0, tries=3)
    sent: list[int] = []
    nudge.send = lambda: sent.append(1)  # type: ignore[method-assign]
    return nudge, sent


def test_a_ctrl_c_the_handler_took_is_left_alone():
    nudge, sent = _nudge(showing=True)
    nudge.handled = 1  # the handler ran before the watcher read the byte: the usual order
    nudge.on_wakeup(SIGINT_BYTE)
    assert sent == [] and nudge.seen == 1


def test_a_ctrl_c_the_handler_never_ran_for_is_sent_again_a_bounded_number_of_times():
    nudge, sent = _nudge(showing=True)
    nudge.on_wakeup(SIGINT_BYTE)
    assert len(sent) == 3  # the main thread never took it: three tries, then it gives up
    nudge.on_wakeup(SIGINT_BYTE * 3)  # its own three signals read back: not new ones
    assert len(sent) == 3 and nudge.seen == 1


def test_nothing_is_sent_while_a_command_runs_or_for_other_signals():
    nudge, sent = _nudge(showing=False)  # no prompt: Ctrl-C is for the running command
    nudge.on_wakeup(SIGINT_BYTE)
    nudge, sent_other = _nudge(showing=True)
    nudge.on_wakeup(bytes([signal.SIGTERM]))
    assert sent == [] and sent_other == [] and nudge.seen == 0


SCRIPT = textwrap.dedent(
    """
    import readline, signal, sys, threading, time
    from dragonfly_bot.console.terminal import InterruptNudge, Prompt
    prompt = Prompt()
    nudge = InterruptNudge(prompt, delay=0.05)
    def lost_ctrl_c():
        while not prompt.showing:
            time.sleep(0.01)
        time.sleep(0.2)
        nudge.on_wakeup(bytes([signal.SIGINT]))  # as if a SIGINT had tripped while readline handled a key
    with nudge.installed():
        threading.Thread(target=lost_ctrl_c, daemon=True).start()
        try:
            prompt.read()
            print("no interrupt")
        except KeyboardInterrupt:
            print(f"interrupted, handled={nudge.handled}")
    print("restored", signal.getsignal(signal.SIGINT) is signal.default_int_handler, signal.set_wakeup_fd(-1))
    """
)


def test_the_sent_signal_interrupts_readline_in_the_main_thread_and_everything_is_restored():
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execvp(sys.executable, [sys.executable, "-c", SCRIPT])
    out = b""
    deadline = time.monotonic() + 30
    try:
        while b"restored" not in out and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
    finally:
        if b"restored" not in out:  # it kept waiting at the prompt: the nudge did not reach readline
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert b"interrupted, handled=1" in out, out
    assert b"restored True -1" in out, out
    assert os.waitstatus_to_exitcode(status) == 0, out

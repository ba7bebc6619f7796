"""The terminal side of the console: line editing, history, completion, Ctrl-C and Ctrl-D.

The bot and its virtual guild run on an event loop in a worker thread; the
main thread only reads lines. Python delivers Ctrl-C (SIGINT) to the main
thread, so a Ctrl-C at the prompt interrupts ``input()`` itself: the console
prints a clean new line and prompts again, and readline's line is not left
half-read in a thread nobody can stop (``InterruptNudge`` covers the one moment
readline would miss it). Ctrl-D (end of input) leaves with exit
code 0, as does the end of a piped script.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from dragonfly_bot.errors import EXIT_OUTPUT_CLOSED

PROMPT = "dragonfly> "
EXIT_INTERRUPTED = 130  # what a shell reports for a command stopped by Ctrl-C
HISTORY_LENGTH = 1000

try:  # not on every platform (Windows): the console then reads plain lines
    import readline
except ImportError:  # pragma: no cover
    readline = None  # type: ignore[assignment]


def history_file() -> Path:
    """``$XDG_STATE_HOME/dragonfly-bot/console_history`` (default ``~/.local/state/…``)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "dragonfly-bot" / "console_history"


class Inbox:
    """Lines from the terminal thread to the bot's loop; each answers whether to go on."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self.queue: asyncio.Queue[tuple[str | None, bool, concurrent.futures.Future[bool]]] = asyncio.Queue()

    def send(self, line: str | None, *, echo: bool = False) -> concurrent.futures.Future[bool]:
        done: concurrent.futures.Future[bool] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self.queue.put_nowait, (line, echo, done))
        return done


async def serve(inbox: Inbox, handle_line: Callable[..., Awaitable[bool]], output_closed: Callable[[], bool]) -> int:
    """Run the lines the terminal sends until it sends ``None`` or a line asks to leave."""
    while True:
        line, echo, done = await inbox.queue.get()
        if line is None:
            done.set_result(False)
            return 0
        try:
            keep = await handle_line(line, echo=echo)
        except BaseException as exc:
            done.set_exception(exc)
            raise
        stop = output_closed()
        done.set_result(keep and not stop)
        if stop:
            return EXIT_OUTPUT_CLOSED
        if not keep:
            return 0


class BotThread:
    """``main(inbox, ready)`` on its own event loop in a daemon thread; ``ready(value)`` once lines are taken."""

    def __init__(self, main: Callable[[Inbox, Callable[[Any], None]], Coroutine[Any, Any, int]]):
        self._main = main
        self.loop = asyncio.new_event_loop()
        self.ready: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.result: concurrent.futures.Future[int] = concurrent.futures.Future()
        self.inbox = Inbox(self.loop)
        self._task: asyncio.Task[int] | None = None
        self._thread = threading.Thread(target=self._run, name="console-bot", daemon=True)

    def _run(self) -> None:
        # The kernel hands a process's SIGINT to any thread that does not block it. Taken by this one,
        # Python would still run the handler in the main thread, but only once it wakes: readline's
        # select() there is never interrupted, and the Ctrl-C is lost until the next key. Threads and
        # subprocesses started from here inherit the mask.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        asyncio.set_event_loop(self.loop)
        try:
            self._task = self.loop.create_task(self._main(self.inbox, self._set_ready))
            self.result.set_result(self.loop.run_until_complete(self._task))
        except BaseException as exc:
            self.result.set_exception(exc)
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def _set_ready(self, value: Any) -> None:
        self.ready.set_result(value)

    def start(self) -> Any:
        """Start the thread and wait until the bot takes lines; None if it ended first (see ``finish``)."""
        self._thread.start()
        try:
            concurrent.futures.wait([self.ready, self.result], return_when=concurrent.futures.FIRST_COMPLETED)
        except KeyboardInterrupt:
            self.cancel()
            raise
        return self.ready.result() if self.ready.done() else None

    def cancel(self) -> None:
        """Ctrl-C while starting: stop the bot and its database cleanly, then let the caller leave."""
        if self._task is not None:
            self.loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=30)

    def finish(self) -> int:
        """The bot's exit code once it has shut down (its errors raised here, in the main thread)."""
        self._thread.join()
        try:
            return self.result.result()
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None


@contextlib.contextmanager
def line_editing(words: list[str]) -> Iterator[None]:
    """Readline with the history file and tab completion of command names, for an interactive session."""
    if readline is None:
        yield
        return
    path = history_file()
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(HISTORY_LENGTH)
    readline.set_completer_delims(" \t\n")
    readline.set_completer(_completer([w.split() for w in words]))
    readline.parse_and_bind("tab: complete")
    try:
        yield
    finally:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)
        except OSError as exc:  # a read-only home: the session worked, the history is lost
            print(f"console: history not saved to {path} ({exc.strerror})", file=sys.stderr)


def _completer(paths: list[list[str]]) -> Callable[[str, int], str | None]:
    def complete(text: str, state: int) -> str | None:
        before = readline.get_line_buffer()[: readline.get_begidx()].split()
        depth = len(before)
        found = {p[depth] for p in paths if len(p) > depth and p[:depth] == before and p[depth].startswith(text)}
        matches = sorted(found)
        return matches[state] + " " if state < len(matches) else None

    return complete


class Prompt:
    """The interactive prompt, and redrawing it when output arrives while it waits."""

    def __init__(self) -> None:
        self.showing = False

    def read(self) -> str:
        self.showing = True
        try:
            return input(PROMPT)
        finally:
            self.showing = False

    def clear(self) -> None:
        if self.showing:
            sys.stdout.write("\r\x1b[K")

    def redraw(self) -> None:
        if self.showing:
            typed = readline.get_line_buffer() if readline is not None else ""
            sys.stdout.write(PROMPT + typed)
            sys.stdout.flush()


class InterruptNudge:
    """Signals the main thread again when a Ctrl-C reached it while readline was between two keys.

    Python's readline checks for signals only when its select() is interrupted: a SIGINT that lands
    while it handles a key sets the handler's flag, and the following select() sleeps until the next
    key, so the Ctrl-C seems lost. The C-level handler writes every signal to the wakeup fd, so this
    thread sees each one; if the Python handler has not run soon after while the prompt shows, it
    sends the main thread one more SIGINT, which interrupts that select().
    """

    def __init__(self, prompt: Prompt, *, delay: float = 0.05, tries: int = 3):
        self._prompt = prompt
        self._delay = delay
        self._tries = tries
        self._main = threading.main_thread().ident
        self.seen = 0  # SIGINTs from outside (the terminal, kill)
        self.handled = 0  # runs of the Python handler
        self._own = 0  # SIGINTs this thread sent, still to be read back from the wakeup fd

    def on_sigint(self, signum: int, frame: object) -> None:
        self.handled += 1
        raise KeyboardInterrupt

    def on_wakeup(self, data: bytes) -> None:
        """Called with the bytes read from the wakeup fd (one signal number each)."""
        for number in data:
            if number != signal.SIGINT:
                continue
            if self._own:
                self._own -= 1
                continue
            self.seen += 1
            for _ in range(self._tries):
                time.sleep(self._delay)
                if self.handled >= self.seen or not self._prompt.showing:
                    break
                self._own += 1
                self.send()

    def send(self) -> None:
        assert self._main is not None
        signal.pthread_kill(self._main, signal.SIGINT)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """The handler and the wakeup fd for the main thread's interactive session; both restored after."""
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        old_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        old_handler = signal.signal(signal.SIGINT, self.on_sigint)
        watcher = threading.Thread(target=self._watch, args=(read_end,), name="console-ctrl-c", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, old_handler)
            signal.set_wakeup_fd(old_fd)
            os.close(write_end)  # the watcher reads end of file and closes its end
            watcher.join(timeout=1)

    def _watch(self, read_end: int) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # never this thread's to take
        try:
            while data := os.read(read_end, 64):
                self.on_wakeup(data)
        finally:
            os.close(read_end)


def read_lines(bot: BotThread, *, interactive: bool, prompt: Prompt, keep_serving: str | None = None) -> int:
    """Send typed (or piped) lines to the bot until Ctrl-D, the end of the script, or /quit.

    ``keep_serving``: after a piped script ends, wait for Ctrl-C before leaving (``--web``)
    and say so with this text.
    """
    while True:
        try:
            line: str | None = prompt.read() if interactive else sys.stdin.readline()
            if line == "" and not interactive:
                line = None
        except KeyboardInterrupt:
            if not interactive:  # a piped script: Ctrl-C stops it, as it stops any other command
                bot.inbox.send(None)
                bot.finish()
                return EXIT_INTERRUPTED
            print(flush=True)  # "^C" stays on its own line; the prompt comes back below it
            continue
        except EOFError:
            line = None
            print(flush=True)
        if line is None:
            if keep_serving:
                with contextlib.suppress(KeyboardInterrupt):  # entered first: Ctrl-C may come right after the line
                    print(keep_serving, flush=True)
                    threading.Event().wait()
            bot.inbox.send(None)
            break
        answer = bot.inbox.send(line, echo=not interactive)
        while True:
            try:
                keep = answer.result()
                break
            except KeyboardInterrupt:
                print("\n(the command is still running; its answer follows)", flush=True)
            except BaseException:
                keep = False  # the bot thread failed: finish() raises its error
                break
        if not keep:
            break
    return bot.finish()

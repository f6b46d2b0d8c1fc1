"""Rendering off the event loop, and the `Render` that freezes issued documents.

Rendering a Factur-X PDF is CPU work (40-70 ms of pure Python in fpdf2 and fontTools). It
runs in one worker PROCESS, never on the event loop: a worker thread would still hold the
GIL most of the time and the loop stalled 40-150 ms behind it (bench/invoices.py); a
process leaves the loop its own core. The worker starts at the first render (a fork
server that has imported the renderer once) and is replaced if it dies. One worker: renders
queue up in order, memory stays bounded.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, TypeVar

from mail.documents.invoice import invoice_data, render_invoice_pdf
from mail.documents.model import InvoiceData

if TYPE_CHECKING:
    from storage.documents import Render
    from storage.invoicing import Seller

__all__ = ["invoice_renderer", "off_loop", "render_off_loop", "shutdown_renderer", "start_renderer"]

T = TypeVar("T")
log = logging.getLogger(__name__)
_PRELOAD = ["mail.documents.invoice", "mail.documents.purchase_order"]
_lock = threading.Lock()
_pool: Executor | None = None


def _started() -> Executor:
    """The render worker, started and ready (blocking: starting it takes about a second,
    so callers on the loop go through `_executor`). Where processes cannot be started
    (no POSIX semaphores in some containers), a worker thread: still off the loop."""
    global _pool
    with _lock:
        if _pool is None:
            # Fork server, not fork: the bot's process has threads (aiosqlite, imap) that a
            # plain fork would copy mid-flight.
            try:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(_PRELOAD)
                pool: Executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
                pool.submit(int).result()  # the worker process is up
            except (OSError, NotImplementedError, ValueError) as exc:
                log.warning("no render process (%s): rendering in a worker thread", exc)
                pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="entonnoir-render")
            _pool = pool
        return _pool


async def _executor() -> Executor:
    pool = _pool
    return pool if pool is not None else await asyncio.to_thread(_started)


async def start_renderer() -> None:
    """Start the render worker now rather than at the first render (optional)."""
    await _executor()


def shutdown_renderer() -> None:
    """Stop the render worker (it also stops by itself when the program exits)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


async def off_loop(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` in the render worker (a module-level function and picklable values);
    a dead worker is replaced once."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(await _executor(), fn, *args)
    except BrokenProcessPool:
        await asyncio.to_thread(shutdown_renderer)
        return await loop.run_in_executor(await _executor(), fn, *args)


async def render_off_loop(doc: InvoiceData) -> bytes:
    """`render_invoice_pdf(doc)` in the render worker."""
    return await off_loop(render_invoice_pdf, doc)


def invoice_renderer(seller: Seller) -> Render:
    """The `Render` storage freezes issued documents with: the invoice's data read from the
    database (in the caller's transaction), the PDF rendered in the render worker."""

    async def render(invoice_id: int) -> bytes:
        return await render_off_loop(await invoice_data(invoice_id, seller))

    return render

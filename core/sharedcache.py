"""The cache the worker processes of one machine share as files (``SHARED_CACHE_DIR``, config/settings.py).

Django's ``FileBasedCache`` as it is (one file an entry, written to a temporary file and renamed into place,
so a reader in another process never sees half an entry), except when it makes room: Django's lists the whole
folder on every ``set`` to see whether it is full, a cost that grows with the entries and is paid by every page
rendered afresh. This one looks every ``CULL_EVERY`` sets of a process, so the folder may hold up to that many
entries a process past ``MAX_ENTRIES`` before the oldest third goes (Django's ``CULL_FREQUENCY``).
"""

from __future__ import annotations

import itertools

from django.core.cache.backends.filebased import FileBasedCache


class SharedFileCache(FileBasedCache):
    CULL_EVERY = 50

    def __init__(self, dir, params):  # noqa: A002 (Django's own name for it)
        super().__init__(dir, params)
        self._sets = itertools.count(1)  # next() is atomic under the GIL: no lock needed

    def _cull(self):
        if next(self._sets) % self.CULL_EVERY == 0:
            super()._cull()

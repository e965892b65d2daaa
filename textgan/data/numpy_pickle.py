"""Read a pickle of numpy arrays without executing anything else: `load_numpy_pickle(path)`.

`pickle.load` calls whatever callable a file names (`os.system`, ...), so a tampered download runs code. This
unpickler resolves exactly the three globals a pickled `ndarray` needs (`numpy.core.multiarray._reconstruct`,
`numpy.ndarray`, `numpy.dtype`; the first also as `numpy._core.multiarray._reconstruct`, the name numpy >= 2
writes) and refuses every other one before anything is called. Used for SeqGAN's published oracle weights
(`textgan.data.oracle.load_seqgan_oracle`).
"""

from __future__ import annotations

import io
import os
import pickle

import numpy as np

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

# (module, name) as written in the pickle -> the object it may resolve to; nothing else is ever imported
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asks for a global outside `ALLOWED_GLOBALS`; nothing it names was imported or called."""


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An `Unpickler` whose `find_class` admits only numpy's array reconstruction."""

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load {module}.{name} from a pickle: only numpy arrays are allowed here. The file is "
                "not the published one (tampered or a different format); delete it and download it again."
            ) from None

    def persistent_load(self, pid):
        raise UnsafePickleError("refusing a pickle with persistent ids: only numpy arrays are allowed here")


def loads_numpy_pickle(data: bytes):
    """Unpickle `data`, admitting numpy arrays only (`encoding="latin1"` reads a Python 2 pickle's array bytes)."""
    return NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()


def load_numpy_pickle(path: str | os.PathLike):
    """`loads_numpy_pickle` of a file's bytes."""
    with open(path, "rb") as f:
        return loads_numpy_pickle(f.read())

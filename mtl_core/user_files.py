"""Files a user names on the command line: read only what is a file, write only where asked.

The rules, the same for every command (the CLI docs list which flag is which):

- **Inputs** (``--config``, sweep files) are read, never written. Only a regular file is
  read (a folder, a pipe or a device such as ``/dev/zero`` would hang or mislead), up to a
  size no config or sweep reaches.
- **Outputs** (``export --out``, ``embed --out``, ``--save-config``) follow the usual CLI
  convention: the file you name is written, and an existing *regular file* there is
  overwritten, as ``>`` or ``cp`` would. A symbolic link is followed: the file it points
  to is overwritten and the link stays. Anything else at that path (a folder, a device, a
  pipe, a socket) is refused with one line, and a missing folder is not created. The text
  is written to a hidden temporary file beside the target and renamed over it, so a crash
  never leaves half a file; the temporary file is the only thing ever removed.

Nothing here renames or deletes a file the project did not create.
"""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

from mtl_core.errors import ConfigError

MAX_INPUT_BYTES = 10 * 2**20


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def read_text(path: str | Path, field: str) -> str:
    """The UTF-8 text of an input file; a ConfigError naming ``field`` if it is not one."""
    where = _one_line(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(field, f"{where} is a folder; name a file")
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(field, f"{where} is not a regular file (a device or pipe)")
        if info.st_size > MAX_INPUT_BYTES:
            raise ConfigError(
                field,
                f"{where} is {info.st_size:,} bytes: too large for a "
                f"{field} file (at most {MAX_INPUT_BYTES:,})",
            )
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(field, f"cannot read {where}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(field, f"{where} is not UTF-8 text") from None
    except ValueError as exc:  # a NUL in the path
        raise ConfigError(field, f"cannot read {where}: {exc}") from None


def write_output(path: str | Path, text: str, field: str = "out") -> Path:
    """Write ``text`` to the output file ``path`` (see the module docstring for the rules)."""
    where = _one_line(path)
    if str(path).endswith((os.sep, "/")):  # "results/" names a folder, never a file
        raise ConfigError(field, f"{where} names a folder; name a file in it instead")
    try:
        target = Path(os.path.realpath(path))  # through a link, to the file it names
        try:
            info = os.stat(target)
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise ConfigError(field, f"{where} is a folder; name a file in it instead")
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise ConfigError(
                field,
                f"{where} is not a regular file (a device, pipe or socket); name a file instead",
            )
        if not target.parent.is_dir():
            raise ConfigError(
                field,
                f"{where}: the folder {_one_line(target.parent)} does not "
                "exist; create it first or name another file",
            )
        tmp = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "x", encoding="utf-8") as handle:
                handle.write(text)
            if info is not None:
                os.chmod(tmp, stat.S_IMODE(info.st_mode))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(field, f"cannot write {where}: {exc.strerror}") from None
    except ValueError as exc:  # a NUL in the path
        raise ConfigError(field, f"cannot write {where}: {exc}") from None
    return Path(path)

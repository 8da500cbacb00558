"""Starting or reaching Ray safely: loopback only, token authentication, a fast failure.

Without an address a local instance is started with every port bound to loopback
(``_loopback_only``) and Ray's default token authentication left on; with an address,
the driver checks the address answers before Ray's half a minute of retries, and opts in
to token authentication as a local start does. Apart from the driver (``ray_backend.py``)
because these are about Ray's own settings and sockets, not about runs.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from collections.abc import Iterator

from mtl_core.errors import ConfigError

CONNECT_WAIT = {"RAY_gcs_server_port_wait_time_s": "1"}  # one try (~35 s) at an address


@contextlib.contextmanager
def _loopback_only() -> Iterator[None]:
    """Make a new local Ray instance bind loopback only.

    Ray 2.60 binds its servers to the node's IP, which it takes to be the address of the
    default route even when told 127.0.0.1 (``ray.init(_node_ip_address=...)`` replaces a
    loopback address with that one). With ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` its
    ``get_node_ip_address`` returns loopback instead, as it does on macOS and Windows. The
    variable is read when Ray is imported, so its constant is set too. Checked with
    ``ss -ltnp`` in tests/test_ray_backend.py.
    """
    from ray._private import ray_constants

    name = ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR
    saved = os.environ.get(name), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[name], ray_constants.ENABLE_RAY_CLUSTER = "0", False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved[1]
        if saved[0] is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved[0]


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables the user has not set, for the duration of a block."""
    added = [k for k in values if k not in os.environ]
    os.environ.update({k: values[k] for k in added})
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _check_reachable(address: str) -> None:
    """Fail in seconds, not in Ray's half a minute of retries, when nothing listens there."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return  # not host:port: let Ray make sense of it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(
            "address",
            f"cannot reach {address} ({exc.strerror or exc}); is "
            "`ray start --head` running there, with this port open "
            "to this machine?",
        ) from None


def _token_auth_for_drivers() -> None:
    """Send the token when connecting to an address, as a local start does by default.

    Ray enables token authentication on its own only for clusters it starts or finds
    locally; a driver given an address must opt in with ``RAY_AUTH_MODE=token`` before
    Ray reads its config. Set that unless the user chose a mode; Ray's own helper also
    makes the already-loaded config see it.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    from ray._private.authentication import authentication_token_setup as setup

    setup._enable_token_auth()


def _is_loopback(address: str) -> bool:
    """A head on this machine bound to loopback (Ray would otherwise swap 127.0.0.1 for the
    machine's address when connecting, and find nothing there)."""
    host = address.rpartition(":")[0].strip("[]") or address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""A hosts file for the benchmark's processes: the synthetic web's host names
(``news000.test`` …) resolve to their loopback addresses.

Every Python process started with this directory on PYTHONPATH imports it at
start-up; NEWSWATCH_BENCH_HOSTS names a JSON file mapping names to addresses.
Other names resolve as usual.
"""

import json
import os
import socket

_path = os.environ.get("NEWSWATCH_BENCH_HOSTS")
if _path:
    with open(_path) as _f:
        _HOSTS = json.load(_f)
    _getaddrinfo = socket.getaddrinfo

    def _resolve(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        return _getaddrinfo(_HOSTS.get(host, host), *args, **kwargs)

    socket.getaddrinfo = _resolve

"""Every module of the project imports on its own, whatever Django happens to import first.

Django imports the views, middleware and DRF classes named in the settings by their dotted path,
and the order differs between runs: the system checks are kept in a set. A circular import
between such modules passes or fails by chance (``check`` once failed in CI with security.E102
because the CSRF failure view's module was the first to be imported). So each module is
imported first, in a process that has just run ``django.setup()`` and nothing else.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

# Every top-level package of the project: the composition root, the kernel and the apps.
PACKAGES = sorted(path.parent.name for path in Path(settings.BASE_DIR).glob("*/__init__.py"))

# A process that sets Django up once, then forks a child per module: each child imports one
# module into the state ``django.setup()`` leaves, exactly as a first import would.
SCRIPT = """
import json, os, sys, traceback
import django
django.setup()
failures = {}
for name in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            __import__(name)
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            os._exit(1)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status:
        failures[name] = message.strip().splitlines()[-1] if message else f"status {status}"
print(json.dumps(failures))
"""


def project_modules() -> list[str]:
    root = Path(settings.BASE_DIR)
    names = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
    return names


def test_every_module_imports_first():
    modules = project_modules()
    assert "core.api.views" in modules
    assert "core.api.parsers" in modules
    assert "inventory_project.urls" in modules
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "inventory_project.settings.test",
        "DATABASE_URL": "sqlite:///:memory:",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(modules)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert json.loads(result.stdout) == {}

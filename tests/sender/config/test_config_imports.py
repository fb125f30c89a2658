"""The configuration code is on every per-mail path: it loads none of the libraries.

Which smtpq modules each per-mail path loads, and what it may not, is listed in
``tests/support/per_mail.py``; this checks the configuration's public entry
points alone against its libraries.
"""

from __future__ import annotations

import subprocess
import sys

from tests.support.per_mail import LIBRARIES

CHECK = """
import sys
import smtpq.sender.config as config
for name in config.__all__:
    getattr(config, name)
import smtpq.sender.config.values, smtpq.sender.config.settings
libraries = sys.argv[1].split(",")
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in libraries)))
"""


def test_public_entry_points_import_none_of_the_libraries() -> None:
    proc = subprocess.run([sys.executable, "-c", CHECK, ",".join(LIBRARIES)], capture_output=True,
                          text=True, check=True)
    assert proc.stdout.strip() == ""


def test_lazy_exports() -> None:
    import smtpq.sender.config as config

    assert config.load_config.__module__ == "smtpq.sender.config.files"
    assert config.resolve_account.__module__ == "smtpq.sender.config.choose"
    assert config.pretend_lines.__module__ == "smtpq.sender.config.show"

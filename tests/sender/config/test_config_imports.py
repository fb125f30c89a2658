"""The configuration code is on the sendmail entry path: it may import only the stdlib."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import smtpq.sender.config as config
for name in config.__all__:
    getattr(config, name)
import smtpq.sender.config.values, smtpq.sender.config.settings
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in ("click", "sqlalchemy", "alembic", "tenacity",
                                      "idna", "scramp", "spnego", "keyring", "python_socks"))
print(",".join(heavy))
"""


def test_public_entry_points_import_only_the_standard_library() -> None:
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == ""


def test_lazy_exports() -> None:
    import smtpq.sender.config as config

    assert config.load_config.__module__ == "smtpq.sender.config.files"
    assert config.resolve_account.__module__ == "smtpq.sender.config.choose"
    assert config.pretend_lines.__module__ == "smtpq.sender.config.show"

"""`mesochart backup` and `mesochart restore`: one archive with the database, the media
folder and the audit checkpoints; a restore gives back exactly what was saved."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from mesochart.accounts.models import User
from mesochart.audit.services import verify_chain
from mesochart.core.backup import EXCLUDED
from mesochart.core.demo import DEMO_PASSWORD, load_demo
from mesochart.patients.models import Patient

pytestmark = pytest.mark.django_db(transaction=True)


def database_as_json() -> list[dict[str, Any]]:
    out = io.StringIO()
    call_command("dumpdata", exclude=[*EXCLUDED, "contenttypes", "auth"], stdout=out)
    return sorted(json.loads(out.getvalue()), key=lambda row: (row["model"], str(row["pk"])))


def files_of(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def wipe(settings: Any) -> None:
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    Path(settings.AUDIT_CHECKPOINT_FILE).unlink()


@pytest.fixture
def installation(settings: Any, tmp_path: Path) -> dict[str, Any]:
    """The demo clinics with their signed consents on disk, an extra file in a sub-folder
    and an audit checkpoints file."""
    settings.AUDIT_CHECKPOINT_FILE = str(tmp_path / "audit" / "checkpoints.log")
    load_demo()
    media = Path(settings.MEDIA_ROOT)
    (media / "scans" / "2026").mkdir(parents=True, exist_ok=True)
    (media / "scans" / "2026" / "scan.pdf").write_bytes(b"%PDF-1.4 scanned consent\n")
    call_command("audit-checkpoints", stdout=io.StringIO())  # a signed checkpoint of the head
    checkpoints = Path(settings.AUDIT_CHECKPOINT_FILE)
    assert checkpoints.stat().st_size > 0
    return {
        "database": database_as_json(),
        "files": files_of(media),
        "checkpoints": checkpoints.read_bytes(),
        "archive": tmp_path / "backups" / "clinic.tar.gz",
    }


def test_backup_wipe_restore_gives_back_the_same_records_files_and_checkpoints(
    installation, settings, capsys
):
    assert len(installation["files"]) > 1  # the demo's signatures and the scan
    call_command("backup", str(installation["archive"]))
    assert installation["archive"].stat().st_mode & 0o777 == 0o600
    wipe(settings)
    assert not Patient.objects.exists() and not Path(settings.MEDIA_ROOT).exists()

    call_command("restore", str(installation["archive"]))

    assert database_as_json() == installation["database"]
    assert files_of(Path(settings.MEDIA_ROOT)) == installation["files"]
    assert Path(settings.AUDIT_CHECKPOINT_FILE).read_bytes() == installation["checkpoints"]
    assert verify_chain().ok
    out = capsys.readouterr().out
    assert "Audit chain: intact" in out
    # The restored installation works: a demo member of staff signs in and opens a chart.
    client = Client()
    login = {"username": "practitioner", "password": DEMO_PASSWORD}
    assert client.post(reverse("accounts:login"), login).status_code == 302
    practitioner = User.objects.get(username="practitioner")
    patient = Patient.objects.filter(clinic=practitioner.memberships.get().clinic).first()
    chart = client.get(reverse("patients:chart", args=[patient.pk]))
    assert chart.status_code == 200 and patient.full_name in chart.text


def test_restore_refuses_a_database_with_records_and_changes_nothing(installation, settings):
    call_command("backup", str(installation["archive"]))
    User.objects.create_user(username="added-after-backup", password="x" * 12)
    with pytest.raises(CommandError, match="already holds records"):
        call_command("restore", str(installation["archive"]))
    assert User.objects.filter(username="added-after-backup").exists()

    call_command("restore", str(installation["archive"]), "--force")
    assert not User.objects.filter(username="added-after-backup").exists()
    assert database_as_json() == installation["database"]
    assert files_of(Path(settings.MEDIA_ROOT)) == installation["files"]


def test_restore_refuses_a_damaged_archive_and_keeps_the_database(installation, settings, tmp_path):
    call_command("backup", str(installation["archive"]))
    damaged = tmp_path / "damaged.tar.gz"
    with (
        tarfile.open(installation["archive"]) as source,
        tarfile.open(damaged, "w:gz") as target,
    ):
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("media/"):
                data = b"changed" + data
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(damaged), "--force")
    assert database_as_json() == installation["database"]


def test_backup_never_overwrites_an_archive(installation):
    call_command("backup", str(installation["archive"]))
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", str(installation["archive"]))

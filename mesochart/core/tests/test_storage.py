"""Stored files: private from the start, whole or absent after a failure, orphans found."""

from __future__ import annotations

import errno
import os
import stat
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from mesochart.care.models import SignedConsent
from mesochart.care.services import consents
from mesochart.care.tests.factories import sign
from mesochart.core.storage import StorageUnavailable, atomic_files

pytestmark = pytest.mark.django_db


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_stored_file_is_private_from_the_start():
    name = default_storage.save("consents/x/signature.png", ContentFile(b"png"))
    path = Path(default_storage.path(name))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes() == b"png"


def test_a_full_disk_leaves_nothing_and_says_so():
    root = Path(settings.MEDIA_ROOT)
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    with (
        mock.patch("mesochart.core.storage.os.fsync", side_effect=full),
        pytest.raises(StorageUnavailable) as refused,
    ):
        default_storage.save("photos/p/original.jpg", ContentFile(b"x" * 100_000))
    assert "could not be stored" in refused.value.message
    assert files_under(root) == []  # no partial file, no temporary file
    assert real_fsync is os.fsync


def test_a_name_taken_meanwhile_gets_the_next_free_name():
    first = default_storage.save("consents/y/scan.png", ContentFile(b"1"))
    storage = default_storage
    second = storage._save(first, ContentFile(b"2"))  # as if the name was free when checked
    assert second != first
    assert Path(storage.path(first)).read_bytes() == b"1"
    assert Path(storage.path(second)).read_bytes() == b"2"


def test_files_of_a_rolled_back_transaction_are_deleted(clinic, staff, patient):
    consents.ensure_default_templates(clinic, staff["manager"])
    root = Path(settings.MEDIA_ROOT)
    with (
        mock.patch("mesochart.care.pdf.render_consent_pdf", side_effect=RuntimeError("boom")),
        atomic_files(),
        pytest.raises(RuntimeError),
    ):
        sign(clinic, staff["practitioner"], patient)
    assert not SignedConsent.objects.exists()
    assert files_under(root) == []


def test_files_of_a_committed_signing_stay(clinic, staff, patient):
    consents.ensure_default_templates(clinic, staff["manager"])
    with atomic_files():
        consent = sign(clinic, staff["practitioner"], patient)
    assert Path(consent.signature.path).exists() and Path(consent.pdf.path).exists()


def test_a_failed_signing_over_http_leaves_no_file(client_as, clinic, staff, patient):
    """The request's end removes what its rolled-back transaction wrote."""
    from django.urls import reverse

    from mesochart.care.tests.factories import signature_data_url, template_of

    consents.ensure_default_templates(clinic, staff["manager"])
    version = template_of(clinic, "treatment").current_version()
    data = {
        "version": str(version.pk),
        "signer_name": patient.full_name,
        "signer_role": "patient",
        "method": "on_screen",
        "signature": signature_data_url(),
        "read_confirmed": "on",
    }
    url = reverse("care:consent_take", args=[patient.pk])
    client = client_as("practitioner")
    client.raise_request_exception = False
    with mock.patch("mesochart.care.pdf.render_consent_pdf", side_effect=OSError("disk")):
        response = client.post(url, data)
    assert response.status_code >= 400
    assert not SignedConsent.objects.exists()
    assert files_under(Path(settings.MEDIA_ROOT)) == []


def test_an_unwritable_media_folder_is_a_clear_refusal_and_nothing_is_saved(
    client_as, clinic, staff, patient
):
    """Permissions are simulated (the suite may run as root, which writes anywhere)."""
    from django.urls import reverse

    from mesochart.care.tests.factories import signature_data_url, template_of

    consents.ensure_default_templates(clinic, staff["manager"])
    version = template_of(clinic, "treatment").current_version()
    real_open = os.open

    def read_only(path, flags, *args):
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args)

    data = {
        "version": str(version.pk),
        "signer_name": patient.full_name,
        "signer_role": "patient",
        "method": "on_screen",
        "signature": signature_data_url(),
        "read_confirmed": "on",
    }
    with mock.patch("mesochart.core.storage.os.open", side_effect=read_only):
        response = client_as("practitioner").post(
            reverse("care:consent_take", args=[patient.pk]), data
        )
    # Shown on the consent form, whose answers are kept for another try.
    assert response.status_code in (400, 503)
    body = response.content.decode()
    assert "could not be stored" in body and patient.full_name in body
    assert not SignedConsent.objects.exists()


def test_media_orphans_finds_files_no_row_names_and_temporary_files(clinic, staff, patient):
    consents.ensure_default_templates(clinic, staff["manager"])
    consent = sign(clinic, staff["practitioner"], patient)
    root = Path(settings.MEDIA_ROOT)
    stray = root / "consents" / "stray" / "signature.png"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by a killed signing")
    temp = root / "photos" / ".original.jpg.abc123.part"
    temp.parent.mkdir(parents=True)
    temp.write_bytes(b"half")

    out = StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("media-orphans", "--check", "--temp-age", "0", stdout=out)
    assert exit_code.value.code == 1
    listed = out.getvalue()
    assert "consents/stray/signature.png" in listed and ".original.jpg.abc123.part" in listed
    assert consent.signature.name not in listed

    out = StringIO()
    call_command("media-orphans", "--temp-age", "1", stdout=out)
    assert "0 orphaned file(s) found" in out.getvalue()  # too young: maybe being written

    call_command("media-orphans", "--delete", "--temp-age", "0", stdout=StringIO())
    assert not stray.exists() and not temp.exists()
    assert Path(consent.signature.path).exists() and Path(consent.pdf.path).exists()
    call_command("media-orphans", "--check", "--temp-age", "0", stdout=StringIO())

"""The chair screen in real Chromium: every refusal is shown where the practitioner is
looking and the screen keeps what the server holds; fast clicks are queued, never lost;
the same finding at many points is one line, corrected for all of them at once; panels
and typed values survive refreshes; a tablet at 768 px keeps the safety check in view."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from mesochart.care import maps
from mesochart.care.models import ChartEntry, TreatmentSession
from mesochart.care.services import charting, consents
from mesochart.conftest import browser_sign_in, create_patient
from mesochart.sterility.tests.factories import make_pack, make_steriliser, released_cycle

from .factories import sign
from .session_factories import DCA_BRUSH, add_points, receive, set_brush, started

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STEP_X = 2.2 * maps.POINT_RADIUS
STEP_Y = STEP_X * maps.load_map("face").width / maps.load_map("face").height


def submental_grid(n: int) -> list[tuple[float, float]]:
    x0, y0 = maps.zone_centroid("face", "submental")
    found: list[tuple[float, float]] = []
    for ring in range(30):
        for dy in range(-ring, ring + 1):
            for dx in range(-ring, ring + 1):
                if max(abs(dx), abs(dy)) != ring:
                    continue
                x, y = round(x0 + dx * STEP_X, 4), round(y0 + dy * STEP_Y, 4)
                if maps.zone_at("face", x, y) == "submental":
                    found.append((x, y))
                    if len(found) == n:
                        return found
    raise AssertionError("the submental zone is too small for the grid")


@pytest.fixture(autouse=True)
def _quiet_at_the_end(page: Any) -> Any:
    """Fail on any script error of the page; before the database is flushed, let the page's
    queued changes finish and leave the page, so no request of the live server is still
    running."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield
    assert not errors, errors
    try:
        page.wait_for_function(
            "() => !window.MesochartCharting || window.MesochartCharting.pending() === 0",
            timeout=15000,
        )
        page.wait_for_load_state("networkidle")
    finally:
        page.goto("about:blank")


@pytest.fixture
def chair(clinic: Any, staff: Any, templates: Any) -> dict[str, Any]:
    """A consenting patient, a deoxycholic acid lot, and a started, prescribed session
    with the brush set (volume 0.05 mL)."""
    patient = create_patient(clinic, staff["practitioner"], profile={})
    sign(clinic, staff["practitioner"], patient)
    lot = receive(clinic, staff["manager"], quantity="100")
    session = started(clinic, staff["practitioner"], patient)
    set_brush(
        staff["practitioner"], session, {**DCA_BRUSH, "lot": str(lot.pk), "volume_ml": "0.05"}
    )
    return {"patient": patient, "lot": lot, "session": session}


def sign_in(page: Any, live_server: Any, username: str) -> None:
    browser_sign_in(page, live_server, username)


def open_session(
    page: Any, live_server: Any, session: TreatmentSession, who: str = "practitioner"
) -> None:
    sign_in(page, live_server, who)
    page.goto(f"{live_server.url}/care/sessions/{session.pk}/")


def click_at(page: Any, x: float, y: float) -> None:
    """Click the (first) map at normalised ``x``, ``y``. The map is replaced on every
    answer, so no handle is kept on it; the page scrolls so the spot is well in view
    (below the safety check, which stays on top on narrow screens)."""
    where: dict[str, float] = page.evaluate(
        """([x, y]) => {
          const at = () => {
            const r = document.querySelector('svg.facemap').getBoundingClientRect();
            return {px: r.x + x * r.width, py: r.y + y * r.height};
          };
          let p = at();
          const top = (document.querySelector('#findings') || {}).getBoundingClientRect
            ? Math.max(0, document.querySelector('#findings').getBoundingClientRect().bottom) : 0;
          if (p.py < top + 20 || p.py > window.innerHeight - 20) {
            window.scrollBy(0, p.py - (top + window.innerHeight) / 2);
            p = at();
          }
          return p;
        }""",
        [x, y],
    )
    page.mouse.click(where["px"], where["py"])


def in_viewport(page: Any, selector: str) -> bool:
    return bool(
        page.eval_on_selector(
            selector,
            "el => { const r = el.getBoundingClientRect(); return r.height > 0 && r.bottom > 0 "
            "&& r.top < window.innerHeight && r.right > 0 && r.left < window.innerWidth; }",
        )
    )


def wait_points(page: Any, n: int, timeout: float = 15000) -> None:
    page.wait_for_selector(f'#workspace[data-points="{n}"]', timeout=timeout)


@pytest.fixture
def slow_points(monkeypatch: Any) -> Callable[[float], None]:
    """Make each point request take ``seconds`` on the server (the live server runs in
    another thread, so the browser keeps clicking meanwhile)."""

    def slow(seconds: float) -> None:
        original = charting.do_add_points

        def delayed(*args: Any, **kwargs: Any) -> Any:
            time.sleep(seconds)
            return original(*args, **kwargs)

        monkeypatch.setattr(charting, "do_add_points", delayed)

    return slow


def test_an_invalid_volume_shows_the_error_and_the_screen_keeps_the_servers_value(
    live_server: Any, page: Any, chair: dict[str, Any], artifacts: Any
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    open_session(page, live_server, chair["session"])
    assert page.input_value("#brush-volume") == "0.050"
    with page.expect_response(re.compile(r".*/brush/$")) as answer:
        page.fill("#brush-volume", "abc")
        page.press("#brush-volume", "Tab")
    assert answer.value.status == 400
    page.wait_for_selector("#err-volume_ml")
    assert "“abc” is not a number." in page.inner_text("#err-volume_ml")
    assert "The chart keeps 0.050 mL." in page.inner_text("#err-volume_ml")
    assert page.input_value("#brush-volume") == "0.050"  # what the server holds
    assert in_viewport(page, "#err-volume_ml")
    page.screenshot(path=str(artifacts / "chair-invalid-volume.png"))
    x, y = maps.zone_centroid("face", "submental")
    click_at(page, x, y)
    wait_points(page, 1)
    assert ChartEntry.objects.get().volume_ml is not None
    assert str(ChartEntry.objects.get().volume_ml) == "0.050"


def test_ten_clicks_0_2_s_apart_give_ten_points_and_each_shows_while_pending(
    live_server: Any,
    page: Any,
    chair: dict[str, Any],
    slow_points: Callable[[float], None],
    artifacts: Any,
) -> None:
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_session(page, live_server, chair["session"])
    slow_points(0.6)
    shown = []
    for x, y in submental_grid(10):
        click_at(page, x, y)
        # Every click is on the map at once: charted, or pending until the server answers.
        shown.append(page.locator("svg.facemap .pt, svg.facemap .pt-pending").count())
        page.wait_for_timeout(200)
    assert shown == list(range(1, 11)), shown
    assert page.locator("svg.facemap .pt-pending").count() > 0  # the server is still busy
    assert page.is_visible("#map-status .pending-note")
    page.screenshot(path=str(artifacts / "chair-pending-clicks.png"))
    wait_points(page, 10, timeout=30000)
    page.wait_for_function("() => !document.querySelector('svg.facemap .pt-pending')")
    assert ChartEntry.objects.filter(session=chair["session"]).count() == 10
    assert page.locator("svg.facemap .pt").count() == 10


def test_typing_in_a_field_while_a_click_comes_back_keeps_what_is_typed(
    live_server: Any, page: Any, chair: dict[str, Any], slow_points: Callable[[float], None]
) -> None:
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_session(page, live_server, chair["session"])
    slow_points(0.8)
    brush_posts: list[str] = []
    page.on(
        "request",
        lambda r: brush_posts.append(r.post_data or "") if r.url.endswith("/brush/") else None,
    )
    x, y = maps.zone_centroid("face", "submental")
    click_at(page, x, y)
    page.click("#brush-angle")
    page.keyboard.type("45")
    wait_points(page, 1)
    assert page.input_value("#brush-angle") == "45"
    assert page.evaluate("document.activeElement.id") == "brush-angle"
    assert brush_posts == []  # nothing half-typed was sent by the refresh
    with page.expect_request(re.compile(r".*/brush/$")):
        page.keyboard.press("Tab")  # leaving the field sends it
    # Read the database only once the page has nothing waiting and the server is idle
    # (SQLite's shared in-memory test database refuses a read during the server's write).
    page.wait_for_function("() => window.MesochartCharting.pending() === 0", timeout=15000)
    page.wait_for_load_state("networkidle")
    assert page.input_value("#brush-angle") == "45"
    session = chair["session"]
    session.refresh_from_db()
    assert session.brush.get("angle_deg") == 45
    assert len(brush_posts) == 1


def test_a_refused_sign_off_shows_its_reasons_in_the_sign_off_card(
    live_server: Any, page: Any, chair: dict[str, Any], staff: Any, clinic: Any, artifacts: Any
) -> None:
    session = chair["session"]
    add_points(staff["practitioner"], session, 2)
    page.set_viewport_size({"width": 1280, "height": 900})
    open_session(page, live_server, session)
    assert page.is_enabled("#sign-session")
    # Meanwhile, at reception, the patient withdraws the treatment consent.
    consent = chair["patient"].consents.get(kind="treatment")
    consents.do_revoke_consent(staff["prescriber"], clinic, consent, "Patient withdrew")
    page.click("#sign-session")
    page.wait_for_selector("#signoff-error")
    text = page.inner_text("#signoff-error")
    assert "Not signed." in text and "treatment consent" in text
    assert in_viewport(page, "#signoff-error")
    page.screenshot(path=str(artifacts / "chair-sign-refused.png"))
    session.refresh_from_db()
    assert session.status == "in_progress"


def test_a_click_outside_every_zone_is_refused_on_the_map(
    live_server: Any, page: Any, chair: dict[str, Any]
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    open_session(page, live_server, chair["session"])
    with page.expect_response(re.compile(r".*/points/$")) as answer:
        click_at(page, 0.02, 0.03)
    assert answer.value.status == 400
    page.wait_for_selector("#map-error")
    assert "outside every treatment zone" in page.inner_text("#map-error")
    assert in_viewport(page, "#map-error")
    assert not ChartEntry.objects.exists()


def test_an_unknown_pack_code_is_refused_where_it_was_typed(
    live_server: Any, page: Any, chair: dict[str, Any], clinic: Any, staff: Any
) -> None:
    pack = make_pack(
        released_cycle(make_steriliser(clinic, staff["manager"]), staff["manager"]),
        staff["manager"],
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    open_session(page, live_server, chair["session"])
    page.fill("#packs input[name=pack]", "PK-NOPE-1")
    page.press("#packs input[name=pack]", "Enter")
    page.wait_for_selector("#packs-error")
    assert "PK-NOPE-1" in page.inner_text("#packs-error")
    assert in_viewport(page, "#packs-error")
    page.fill("#packs input[name=pack]", pack.code)
    page.press("#packs input[name=pack]", "Enter")
    page.wait_for_function(
        "code => document.querySelector('#packs').innerText.includes(code) && !document.querySelector('#packs-error')",
        arg=pack.code,
    )


def test_six_points_over_the_limit_are_one_finding_corrected_at_once(
    live_server: Any, page: Any, chair: dict[str, Any], staff: Any, artifacts: Any
) -> None:
    session = chair["session"]
    set_brush(
        staff["practitioner"],
        session,
        {**DCA_BRUSH, "lot": str(chair["lot"].pk), "volume_ml": "0.5"},
    )
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_session(page, live_server, session)
    for x, y in submental_grid(6):
        click_at(page, x, y)
    wait_points(page, 6)
    group = page.locator('[data-code="dose.volume_per_point"]')
    assert group.count() == 1
    assert "6 points" in group.inner_text() and "Points 1\u20136" in group.inner_text()
    page.screenshot(path=str(artifacts / "chair-grouped-finding.png"))
    group.locator("[data-select-entries]").click()
    assert page.is_visible("#edit-form")
    assert "6 selected" in page.inner_text("#edit-panel summary")
    page.fill("#edit-volume", "0.2")
    with page.expect_response(re.compile(r".*/entries/edit/$")):
        page.click("#edit-form button[type=submit]")
    page.wait_for_function("() => !document.querySelector('[data-code=\"dose.volume_per_point\"]')")
    assert {str(v) for v in session.entries.values_list("volume_ml", flat=True)} == {"0.200"}


def test_open_panels_and_typed_values_survive_a_refresh(
    live_server: Any, page: Any, chair: dict[str, Any]
) -> None:
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_session(page, live_server, chair["session"])
    page.click("#zone-entry summary")
    page.fill("#ze-points", "3")
    page.fill("#ze-note", "left half first")
    x, y = maps.zone_centroid("face", "submental")
    click_at(page, x, y)
    wait_points(page, 1)
    assert page.get_attribute("#zone-entry", "open") is not None
    assert page.input_value("#ze-points") == "3"
    assert page.input_value("#ze-note") == "left half first"


def test_at_768_px_nothing_scrolls_sideways_and_the_safety_check_stays_in_view(
    live_server: Any, page: Any, chair: dict[str, Any], staff: Any, artifacts: Any
) -> None:
    session = chair["session"]
    add_points(staff["practitioner"], session, 2)
    page.set_viewport_size({"width": 768, "height": 1024})
    open_session(page, live_server, session)
    for path in ("/", f"/patients/{chair['patient'].pk}/", f"/care/sessions/{session.pk}/"):
        page.goto(live_server.url + path)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 768, (path, wide)
        assert in_viewport(page, "header .who button[type=submit]"), path  # Sign out
    findings = page.locator("#findings").bounding_box()
    figure = page.locator(".map-figure").first.bounding_box()
    assert findings is not None and figure is not None
    assert findings["y"] + findings["height"] <= figure["y"] + 1  # above the map
    page.locator(".map-figure").first.scroll_into_view_if_needed()
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(200)
    assert in_viewport(page, "#findings")
    assert in_viewport(page, "#verdict")
    page.screenshot(path=str(artifacts / "chair-768.png"))
    x, y = submental_grid(3)[2]  # beside the two points at the centre
    click_at(page, x, y)
    wait_points(page, 3)
    assert in_viewport(page, "#findings")


def test_start_now_is_only_offered_for_today(
    live_server: Any, page: Any, clinic: Any, staff: Any, templates: Any
) -> None:
    patient = create_patient(clinic, staff["practitioner"], profile={})
    sign_in(page, live_server, "practitioner")
    page.goto(f"{live_server.url}/care/patients/{patient.pk}/sessions/new/")
    assert page.is_checked("#id_start_now")
    page.fill("#id_scheduled_for", (clinic.today() + timedelta(days=7)).isoformat())
    page.dispatch_event("#id_scheduled_for", "change")
    assert not page.is_checked("#id_start_now") and page.is_disabled("#id_start_now")
    assert page.is_visible("#start-now-hint")
    page.select_option("#id_protocol", "skin-booster")
    page.click("#new-session button[type=submit]")
    page.wait_for_url(re.compile(r".*/care/sessions/[0-9a-f-]{36}/$"))
    assert page.inner_text("#session-status") == "Planned"
    assert page.is_visible("#planned-other-day")


def test_a_prescriber_prescribes_before_the_practitioner_can_start(
    live_server: Any, browser: Any, clinic: Any, staff: Any, templates: Any, artifacts: Any
) -> None:
    from mesochart.care.services import lifecycle

    patient = create_patient(clinic, staff["practitioner"], profile={})
    sign(clinic, staff["practitioner"], patient)
    receive(clinic, staff["manager"], quantity="50")
    session = lifecycle.do_create_session(
        staff["practitioner"],
        clinic,
        patient,
        protocol="submental-dca",
        scheduled_for=clinic.today(),
    )
    practitioner = browser.new_page()
    open_session(practitioner, live_server, session)
    assert practitioner.is_visible("#prescription-needed")
    assert practitioner.is_disabled("#start-session")
    assert practitioner.locator("#prescribe-link").count() == 0
    prescriber = browser.new_context().new_page()
    open_session(prescriber, live_server, session, who="prescriber")
    prescriber.click("#prescribe-link")
    prescriber.fill("#id_max_volume_ml", "12")
    prescriber.fill("#id_valid_until", (clinic.today() + timedelta(days=30)).isoformat())
    prescriber.click("#prescribe")
    assert "The label allows at most 10 mL" in prescriber.inner_text("#prescription-form")
    prescriber.fill("#id_max_volume_ml", "6")
    prescriber.click("#prescribe")
    prescriber.wait_for_url(re.compile(rf".*/care/sessions/{session.pk}/$"))
    practitioner.reload()
    assert practitioner.is_visible("#prescription-ready")
    practitioner.click("#start-session")
    practitioner.wait_for_selector("#brush")
    assert "at most 6 mL" in practitioner.inner_text("#prescription-summary")
    practitioner.screenshot(path=str(artifacts / "chair-prescribed.png"))


def test_a_refusal_that_is_not_a_workspace_is_shown_and_the_click_kept_until_discarded(
    live_server: Any, page: Any, chair: dict[str, Any], staff: Any
) -> None:
    from mesochart.accounts.models import Membership

    page.set_viewport_size({"width": 1280, "height": 1000})
    open_session(page, live_server, chair["session"])
    # The practitioner's role is changed while the chart is open.
    Membership.objects.filter(user=staff["practitioner"]).update(role="reception")
    x, y = maps.zone_centroid("face", "submental")
    click_at(page, x, y)
    page.wait_for_selector("#ws-failure")
    text = page.inner_text("#ws-failure")
    assert "HTTP 403" in text and "Your role may not" in text
    assert in_viewport(page, "#ws-failure")
    assert page.locator("svg.facemap .pt-pending").count() == 1  # kept, not dropped
    page.click("#ws-failure >> text=Discard them")
    assert page.locator("svg.facemap .pt-pending").count() == 0
    assert not ChartEntry.objects.exists()


def test_clicks_made_while_the_server_cannot_be_reached_are_sent_when_it_answers(
    live_server: Any, page: Any, chair: dict[str, Any]
) -> None:
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_session(page, live_server, chair["session"])
    page.context.set_offline(True)
    for x, y in submental_grid(3):
        click_at(page, x, y)
    page.wait_for_selector("#map-status >> text=The server cannot be reached")
    assert page.locator("svg.facemap .pt-pending").count() == 3
    assert not ChartEntry.objects.exists()
    page.context.set_offline(False)
    page.click("#map-status >> text=Send again now")
    wait_points(page, 3)
    assert ChartEntry.objects.filter(session=chair["session"]).count() == 3


def test_a_missing_volume_and_clinical_names_show_while_charting(
    live_server: Any, page: Any, clinic: Any, staff: Any, templates: Any
) -> None:
    patient = create_patient(clinic, staff["practitioner"], profile={})
    sign(clinic, staff["practitioner"], patient)
    lot = receive(clinic, staff["manager"], quantity="100")
    session = started(clinic, staff["practitioner"], patient)
    set_brush(
        staff["practitioner"],
        session,
        {"kind": "injection", "lot": str(lot.pk), "technique": "point"},
    )
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_session(page, live_server, session)
    x, y = maps.zone_centroid("face", "submental")
    click_at(page, x, y)
    wait_points(page, 1)
    finding = page.locator('[data-code="chart.volume_missing"]')
    assert finding.count() == 1 and "Volume per point not recorded" in finding.inner_text()
    assert page.is_disabled("#sign-session")
    visible = page.inner_text("#workspace")
    assert "Submental" in visible and "Deoxycholic acid 10 mg/mL" in visible
    assert "dca-10mg-ml" not in page.inner_text("#entries")
    assert "submental" not in page.inner_text("#entries")


def test_today_shows_live_stock_alerts_and_the_chart_no_stale_card(
    live_server: Any, page: Any, clinic: Any, staff: Any
) -> None:
    patient = create_patient(clinic, staff["practitioner"], profile={})
    receive(clinic, staff["manager"], lot_number="SOON-1", quantity="5", days=10)
    sign_in(page, live_server, "practitioner")
    card = page.locator("#stock-alerts, section:has(h2:text('Stock alerts'))").first
    text = card.inner_text()
    assert "SOON-1" in text and "Deoxycholic acid 10 mg/mL" in text
    assert "Nothing to show" not in text
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    assert "arrives with the sessions module" not in page.inner_text("main")


@pytest.mark.parametrize("decision", ["Discard them", "Chart them now"])
def test_clicks_made_after_a_refused_settings_change_wait_for_a_decision(
    live_server: Any, page: Any, chair: dict[str, Any], monkeypatch: Any, decision: str
) -> None:
    from mesochart.care import forms, session_views

    class SlowBrushForm(forms.BrushForm):
        def is_valid(self) -> bool:
            time.sleep(0.8)
            return super().is_valid()

    monkeypatch.setattr(session_views, "BrushForm", SlowBrushForm)
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_session(page, live_server, chair["session"])
    page.fill("#brush-volume", "abc")
    x, y = submental_grid(2)[1]
    click_at(page, x, y)  # leaving the field sends the settings first, then the click
    page.wait_for_selector("#held-clicks")
    assert "the click made after the change waits" in page.inner_text("#held-clicks")
    assert page.locator("svg.facemap .pt-pending.is-held").count() == 1
    assert page.input_value("#brush-volume") == "0.050"
    page.click(f"#held-clicks >> text={decision}")
    if decision == "Discard them":
        page.wait_for_function("() => !document.querySelector('svg.facemap .pt-pending')")
        assert not ChartEntry.objects.exists()
    else:
        wait_points(page, 1)
        assert str(ChartEntry.objects.get().volume_ml) == "0.050"


def test_a_double_click_on_sign_signs_once_and_leaves_for_the_signed_record(
    live_server: Any, page: Any, chair: dict[str, Any], staff: Any
) -> None:
    session = chair["session"]
    add_points(staff["practitioner"], session, 2)
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_session(page, live_server, session)
    page.dblclick("#sign-session")
    page.wait_for_selector("#signature", timeout=15000)
    assert page.inner_text("#session-status") == "Signed"
    session.refresh_from_db()
    assert session.status == "signed"
    from mesochart.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="session.sign", object_id=str(session.pk)).count() == 1


def test_a_laser_pass_asks_its_modality_then_shows_the_interval_after_an_earlier_one(
    live_server: Any, page: Any, clinic: Any, staff: Any, templates: Any
) -> None:
    """Contract 1.1 on the chair screen: a click before the modality is chosen is refused on
    the map (nothing charted); once chosen, the pass is checked against the ablative laser
    charted in the same zone 30 days earlier, live."""
    from mesochart.accounts.models import Membership
    from mesochart.care.services import signing

    actor = staff["practitioner"]
    patient = create_patient(clinic, actor, profile={})
    sign(clinic, actor, patient)
    serum = receive(clinic, staff["manager"], product="ha-serum-sterile", lot_number="S55")
    laser = {"kind": "energy", "technique": "fractional-laser", "lot": str(serum.pk)}
    first = started(clinic, actor, patient, "fractional-laser-meso")
    set_brush(actor, first, {**laser, "modality": "fractional-laser-ablative"})
    charting.do_add_zone_entry(actor, first, zone="cheek_left", points=1)
    signing.do_sign_session(actor, Membership.objects.get(user=actor), first)
    TreatmentSession.objects.filter(pk=first.pk).update(
        performed_on=clinic.today() - timedelta(days=30)
    )
    session = started(clinic, actor, patient, "fractional-laser-meso")
    set_brush(actor, session, laser)

    page.set_viewport_size({"width": 1280, "height": 1000})
    open_session(page, live_server, session)
    x, y = maps.zone_centroid("face", "cheek_left")
    with page.expect_response(re.compile(r".*/points/$")) as answer:
        click_at(page, x, y)
    assert answer.value.status == 400
    page.wait_for_selector("#map-error")
    assert "Choose the modality" in page.inner_text("#map-error")
    assert in_viewport(page, "#map-error")
    assert not ChartEntry.objects.filter(session=session).exists()

    with page.expect_response(re.compile(r".*/brush/$")):
        page.select_option("#brush-modality", "fractional-laser-non-ablative")
    # The answer's swap removes the map's error line and moves the map up: aim only once
    # the page has nothing waiting (the response event fires before the swap).
    page.wait_for_function("() => window.MesochartCharting.pending() === 0", timeout=15000)
    page.wait_for_selector("#map-error", state="detached")
    click_at(page, x, y)
    wait_points(page, 1)
    finding = page.locator('[data-code="energy.recent_treatment"]')
    finding.wait_for()
    assert "30 days before" in finding.inner_text()
    assert page.is_disabled("#sign-session")
    entry = ChartEntry.objects.get(session=session)
    assert entry.modality == "fractional-laser-non-ablative"

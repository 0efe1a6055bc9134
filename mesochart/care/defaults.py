"""Default consent templates: generic wording for a clinic to adapt.

No clinical numbers are invented here: the clinician explains the specific
product, dose, risks and alternatives for the patient in front of them.
"""

from __future__ import annotations

from .models import ConsentKind

TREATMENT_TEXT = """\
Consent to treatment

I have been told which treatment is proposed, which product will be used and how it is given.
The practitioner has explained the expected benefits, the usual short-lived effects (such as
redness, swelling, bruising and tenderness where the skin was treated), the less common risks
(including infection, allergic reaction, lumps and changes in skin colour), and the
alternatives, including having no treatment.

I have given a truthful account of my health, medicines, allergies, pregnancy or
breastfeeding, and earlier treatments, and I will report any change before each session.

I understand that results vary from person to person, that more than one session may be
needed, and that no particular result has been promised.

I have had the chance to ask questions and I am satisfied with the answers. I agree to the
treatment and to follow the aftercare advice I am given. I know I may withdraw this consent at
any time; withdrawal does not affect care already given.
"""

OFF_LABEL_TEXT = """\
Consent to off-label use

The product proposed for my treatment is a licensed product, or a compounded preparation, that
will be used outside the terms of its licence (its marketing authorisation): for a purpose, in
an area of the body, or in a way that the licence does not cover. For example, a fat-reducing
injection licensed for the area under the chin only, used in another area.

This means that its safety and effectiveness for this use have not been established by the
manufacturer or the regulator, that the evidence for this use may be limited, and that the
risks may be different from, or greater than, those described in the product information.

The practitioner has explained why this use is proposed for me, what is known and not known
about it, and the licensed or other alternatives. I understand this and agree to the off-label
use. I know I may withdraw this consent at any time.
"""

PHOTO_TEXT = """\
Consent to clinical photography

Photographs of the treated areas will be taken before, during and after my treatment. They are
kept securely with my clinical record and are seen only by people who need them for my care,
unless I agree below to further uses.

I agree that my photographs may be used for the purposes ticked on this form:
- clinical record only: my own care and its documentation;
- teaching: training of clinicians, with my identity hidden as far as possible;
- marketing: publication by the clinic (for example on its website or social media).

I may refuse photography for anything other than my clinical record without any effect on my
care. I may revoke this consent at any time; the revocation takes effect at once for any future
use, but cannot recall material already published.
"""

DEFAULT_TEMPLATES: list[tuple[str, str, str, str]] = [
    # (kind, protocol code or "" for all, title, text)
    (ConsentKind.TREATMENT, "", "Treatment consent (all protocols)", TREATMENT_TEXT),
    (ConsentKind.OFF_LABEL, "", "Off-label use consent", OFF_LABEL_TEXT),
    (ConsentKind.PHOTO, "", "Clinical photography consent", PHOTO_TEXT),
]

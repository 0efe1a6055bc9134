from mesochart.patients import vocabulary
from mesochart.protocols import load_library


def test_profile_codes_are_exactly_the_engines_vocabulary():
    library = load_library()
    assert set(vocabulary.CONDITIONS) == set(library.vocabulary.conditions)
    assert set(vocabulary.MEDICATION_CLASSES) == set(library.vocabulary.medications)
    assert set(vocabulary.ALLERGY_INGREDIENTS) == set(library.ingredients)


def test_contract_ingredients_can_be_recorded_as_allergies():
    contract = {
        "hyaluronic_acid",
        "deoxycholic_acid",
        "caffeine",
        "lidocaine",
        "vitamins",
        "ascorbic_acid",
    }
    assert contract <= set(vocabulary.ALLERGY_INGREDIENTS)

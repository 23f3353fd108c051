"""Facts of shared/CLINICAL.md written out for the tests that check the project's data against
it, and a matcher for doses and limits in words.

Written from CLINICAL.md, never from the data under test: a test that read the data's own
constants could not fail when the data is wrong.
"""

import re

# "Interactions (pharmacist review)": the seed's list, in its order.
INTERACTION_DRUGS = [
    "alfentanil",
    "aminophylline",
    "artemether",
    "astemizole",
    "carbamazepine",
    "cisapride",
    "cyclosporine",
    "dihydroergotamine",
    "ergotamine",
    "fentanyl",
    "fosphenytoin",
    "iloperidone",
    "lumefantrine",
    "paclitaxel",
    "phenytoin",
    "pimozide",
    "quinidine",
    "sirolimus",
    "tacrolimus",
    "terfenadine",
    "theophylline",
    "warfarin",
]

# "What to watch" (seed): the signs of each, as CLINICAL.md words them.
CRS_SIGNS = ["fever", "headache", "breathing problems", "nausea", "vomiting"]
NEUROLOGICAL_SIGNS = [
    "confusion",
    "disorientation",
    "slurred speech",
    "difficulty talking",
    "loss of balance",
    "fainting",
    "seizure",
]
INFECTION_SIGNS = ["fever", "chills", "cough", "sore throat", "painful urination"]

# "Infusion, pump, line and bags": (hours, rate in mL/h as written, with preservative).
BAGS = [(24, "10", False), (48, "5", False), (72, "1.8", True), (96, "1.8", True), (168, "0.6", True)]


def says(text: str, words: str) -> bool:
    """`words` in `text`, a number in it whole: "5 mcg/m²" is not found in "15 mcg/m²", nor "3×"
    in "13×"."""
    return re.search(rf"(?<![\d.]){re.escape(words)}", text) is not None

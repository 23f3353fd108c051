"""The warning signs a home check-in asks about, and which of them is a red flag that reaches the
oncologist on call at once. Data with its source, not scattered constants: the seed's patient
information lists the signs ("notify your doctor at once" for the neurological ones) and
CLINICAL.md's "What to watch" groups them by what they may mean.
"""

from dataclasses import dataclass

SOURCE = "Blinatumomab patient information (shared/seeds), CLINICAL.md 'What to watch', 2026-12"


@dataclass(frozen=True)
class WarningSign:
    key: str
    label: str
    watch: str  # what it may mean: CRS, neurological toxicity, infection
    red_flag: bool  # routes to the on-call oncologist at once


WARNING_SIGNS = [
    # Neurological toxicity: "notify your doctor at once".
    WarningSign("confusion", "Confusion", "neurological toxicity", True),
    WarningSign("disorientation", "Disorientation", "neurological toxicity", True),
    WarningSign("slurred_speech", "Slurred speech", "neurological toxicity", True),
    WarningSign("difficulty_talking", "Difficulty talking", "neurological toxicity", True),
    WarningSign("loss_of_balance", "Loss of balance", "neurological toxicity", True),
    WarningSign("fainting", "Fainting", "neurological toxicity", True),
    WarningSign("seizure", "Seizure", "neurological toxicity", True),
    # Cytokine release syndrome.
    WarningSign("fever_or_chills", "Fever or chills", "CRS or infection", True),
    WarningSign("breathing_problems", "Breathing problems", "CRS", True),
    WarningSign("headache", "Headache", "CRS", False),
    WarningSign("nausea_or_vomiting", "Nausea or vomiting", "CRS", False),
    # Infection (low white cells).
    WarningSign("cough_or_sore_throat", "Cough or sore throat", "infection", False),
    WarningSign("painful_urination", "Painful urination", "infection", False),
]
BY_KEY = {sign.key: sign for sign in WARNING_SIGNS}
# Counted with the seizures seen at assessments (patients.selectors.seizures_in_course).
SEIZURE = "seizure"
